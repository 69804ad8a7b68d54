import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeNpy } from '../../src/main/engine/data/npy'
import { fixture, runCli, tempDir } from '../helpers'


const cli = runCli

const model = fixture('models', 'mini_resnet.onnx')
const input = fixture('cam', 'mini_resnet', 'input_0.npy')
const raw = (dir: string, method: string) => decodeNpy(readFileSync(join(dir, `input_0.${method}.raw.npy`)))

describe('cli cam with the pixel attributions', () => {
  it('Integrated Gradients: input-size signed maps, the completeness error and the parameters in results.json', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'integratedgradients', '--steps', '8', '--integration', 'trapezoid', '--baseline', 'uniform', '--seed', '3'])
    expect(r.code).toBe(0)
    const [rec] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))
    expect(rec).toMatchObject({ ok: true, method: 'integratedgradients', layer: 'input', rawShape: [64, 64], params: { steps: 8, integration: 'trapezoid', baseline: 'uniform', seed: 3 } })
    expect(Number.isFinite(rec.completeness.error) && Number.isFinite(rec.completeness.delta)).toBe(true)
    const m = raw(out, 'integratedgradients')
    expect(m.shape).toEqual([64, 64])
    expect(rec.rawMin).toBeLessThan(0)
    expect(rec.rawMax).toBeGreaterThan(0)
    // The raw map sums to the total attribution, which is the score change plus the completeness error.
    const total = m.data.reduce((p, v) => p + v, 0)
    expect(total).toBeCloseTo(rec.completeness.delta + rec.completeness.error, 3)
  }, 60_000)

  it('SmoothGrad is repeatable under one seed and changes with another', async () => {
    const outs = [tempDir(), tempDir(), tempDir()]
    const seeds = ['1', '1', '2']
    for (let i = 0; i < 3; i++) {
      const r = await cli(['cam', '--model', model, '--images', input, '--out', outs[i], '--method', 'smoothgrad', '--samples', '3', '--noise', '0.2', '--seed', seeds[i]])
      expect(r.code).toBe(0)
    }
    const [a, b, c] = outs.map((o) => Array.from(raw(o, 'smoothgrad').data))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  }, 60_000)

  it('refuses bad attribution flags, naming the flag', async () => {
    const out = tempDir()
    const a = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'integratedgradients', '--baseline', 'image'])
    expect(a.code).toBe(2)
    expect(a.stderr).toMatch(/--baseline-image/)
    const b = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'integratedgradients', '--integration', 'simpson'])
    expect(b.code).toBe(2)
    expect(b.stderr).toMatch(/--integration/)
    const c = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'integratedgradients', '--baseline', 'image', '--baseline-image', join(out, 'missing.png')])
    expect(c.code).toBe(2)
    expect(c.stderr).toMatch(/baseline image .*missing\.png/)
  }, 60_000)
})
