import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers'

const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')

describe('cli info', () => {
  it('prints exactly one JSON object with the onnxruntime providers and the tfjs backend', () => {
    const out = execFileSync(tsx, ['src/main/cli.ts', 'info'], { cwd: ROOT, encoding: 'utf8' })
    const lines = out.trim().split('\n')
    expect(lines).toHaveLength(1)
    const info = JSON.parse(lines[0])
    expect(info.name).toBe('metascope')
    expect(info.backends.onnxruntime.available).toContain('cpu')
    expect(info.backends.onnxruntime.inUse.length).toBeGreaterThan(0)
    expect(typeof info.backends.tfjs.reason).toBe('string')
  })

  it('exits 2 with usage for an unknown command', () => {
    let status = 0
    try {
      execFileSync(tsx, ['src/main/cli.ts', 'frobnicate'], { cwd: ROOT, stdio: 'pipe' })
    } catch (err) {
      status = (err as { status: number }).status
    }
    expect(status).toBe(2)
  })

  it.each(['cam', 'audit', 'fewshot'])('%s --help prints the usage and exits 0', (command) => {
    const out = execFileSync(tsx, ['src/main/cli.ts', command, '--help'], { cwd: ROOT, encoding: 'utf8' })
    expect(out).toContain('usage: npm run -s cli')
    expect(out).toContain(`${command} `)
  })
})
