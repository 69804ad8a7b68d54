import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startHarness } from '../e2e/harness'
import { tempDir } from '../helpers'

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })

/** The end-to-end harness must not leave a server and engine behind when Chromium cannot start. */
describe('end-to-end harness', () => {
  const saved = process.env.METASCOPE_RENDERER_DIR
  afterEach(() => {
    if (saved === undefined) delete process.env.METASCOPE_RENDERER_DIR
    else process.env.METASCOPE_RENDERER_DIR = saved
  })

  it('stops the server it started when Chromium is missing, and says what to install', async () => {
    const renderer = tempDir()
    writeFileSync(`${renderer}/index.html`, '<!doctype html><title>stub</title>')
    process.env.METASCOPE_RENDERER_DIR = renderer
    const err = await startHarness({ chromiumPath: '/nonexistent/chromium' }).then(
      () => null,
      (e: Error) => e
    )
    expect(err?.message).toMatch(/Chromium could not start from \/nonexistent\/chromium .*apt-get install chromium.*the server was stopped/)
    const port = Number(/127\.0\.0\.1:(\d+)/.exec((err as Error & { url?: string }).url ?? '')?.[1] ?? 0)
    expect(port).toBeGreaterThan(0)
    // The server (and with it its engine child, which exits when its parent goes) no longer listens.
    expect(await portOpen(port)).toBe(false)
  })
})
