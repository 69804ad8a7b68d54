import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fixture } from '../helpers'

describe('renderer Content-Security-Policy', () => {
  const html = readFileSync(fixture('..', '..', 'src', 'renderer', 'index.html'), 'utf8')
  const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? ''
  const directives = Object.fromEntries(
    csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v])
  )

  it('is present and denies by default', () => {
    expect(directives['default-src']).toEqual(["'none'"])
  })

  it('allows scripts only from the app itself', () => {
    expect(directives['script-src']).toEqual(["'self'"])
  })

  it('forbids plugins, frames, base-uri changes and remote connections', () => {
    expect(directives['object-src']).toEqual(["'none'"])
    expect(directives['frame-src']).toEqual(["'none'"])
    expect(directives['base-uri']).toEqual(["'none'"])
    expect(directives['connect-src']).toEqual(["'self'"])
  })
})
