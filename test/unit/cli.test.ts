import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fashionMnist } from '../../src/main/engine/fewshot/data/idx'
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

describe('cli fewshot bench --log-every', () => {
  const missing = fashionMnist().reason
  const bench = (extra: string[]) =>
    spawnSync(tsx, ['src/main/cli.ts', 'fewshot', 'bench', '--dataset', 'fashion-mnist', '--method', 'protonet', '--shots', '1', '--queries', '2', '--meta-batch', '1', '--episodes', '2', '--iterations', '3', '--threads', '1', ...extra], { cwd: ROOT, encoding: 'utf8' })

  // The loss curve the parity bench (bench/fewshot-parity.ts) compares with PyTorch's, one line per iteration.
  it.skipIf(!!missing)('prints the loss of every iteration with --log-every 1, only the last by default', () => {
    const curve = (out: string) => [...out.matchAll(/^iteration (\d+)\/3 loss ([\d.]+)/gm)].map((m) => Number(m[1]))
    const every = bench(['--log-every', '1'])
    expect(every.status, every.stderr).toBe(0)
    expect(curve(every.stderr)).toEqual([1, 2, 3])
    expect(curve(bench([]).stderr)).toEqual([3])
  })

  // Like the PyTorch reference's log, a line gives the mean over the iterations since the last line.
  it.skipIf(!!missing)('prints the mean loss of the iterations since the last line', () => {
    const losses = (out: string) => new Map([...out.matchAll(/^iteration (\d+)\/3 loss ([\d.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])]))
    const every = losses(bench(['--log-every', '1']).stderr)
    const pairs = losses(bench(['--log-every', '2']).stderr)
    expect([...pairs.keys()]).toEqual([2, 3])
    expect(every.get(1)).not.toBeCloseTo(every.get(2)!, 3)
    expect(pairs.get(2)).toBeCloseTo((every.get(1)! + every.get(2)!) / 2, 3)
    expect(pairs.get(3)).toBeCloseTo(every.get(3)!, 3)
  })

  it('refuses --log-every 0, naming the option', () => {
    const r = bench(['--log-every', '0'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/log-every/)
  })
})
