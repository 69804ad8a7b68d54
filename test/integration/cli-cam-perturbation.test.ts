import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeNpy } from '../../src/main/engine/data/npy'
import { fixture, runCli, tempDir } from '../helpers'


const cli = runCli

const model = fixture('models', 'mini_resnet.onnx')
const input = fixture('cam', 'mini_resnet', 'input_0.npy')
const raw = (dir: string, method: string) => decodeNpy(readFileSync(join(dir, `input_0.${method}.raw.npy`)))

describe('cli cam with the perturbation attributions', () => {
  it('Occlusion: an input-size signed map, the same values as the reference, its parameters in results.json', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'occlusion', '--window', '8', '--stride', '4'])
    expect(r.code).toBe(0)
    const [rec] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))
    expect(rec).toMatchObject({ ok: true, method: 'occlusion', layer: 'input', rawShape: [64, 64], params: { window: 8, stride: 4, baseline: 'black' } })
    expect(rec.rawMin).toBeLessThan(0)
    expect(rec.rawMax).toBeGreaterThan(0)
    const m = raw(out, 'occlusion')
    expect(m.shape).toEqual([64, 64])
    // The committed reference (Captum's arithmetic, black baseline, window 8, stride 4) for this image.
    const ref = decodeNpy(readFileSync(fixture('perturbation', 'mini_resnet', 'occlusion_w8_s4_black.npy')))
    let worst = 0
    for (let p = 0; p < 64 * 64; p++) worst = Math.max(worst, Math.abs(m.data[p] - ref.data[p]))
    expect(worst).toBeLessThan(1e-3)
  }, 60_000)

  it('RISE is repeatable under one seed and changes with another', async () => {
    const outs = [tempDir(), tempDir(), tempDir()]
    const seeds = ['1', '1', '2']
    for (let i = 0; i < 3; i++) {
      const r = await cli(['cam', '--model', model, '--images', input, '--out', outs[i], '--method', 'rise', '--masks', '50', '--cell-size', '16', '--keep', '0.4', '--seed', seeds[i]])
      expect(r.code).toBe(0)
    }
    const [a, b, c] = outs.map((o) => Array.from(raw(o, 'rise').data))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    const [rec] = JSON.parse(readFileSync(join(outs[0], 'results.json'), 'utf8'))
    expect(rec.params).toEqual({ masks: 50, cellSize: 16, keep: 0.4, baseline: 'black', seed: 1 })
  }, 60_000)

  it('refuses bad perturbation flags, naming the flag', async () => {
    const out = tempDir()
    const a = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'occlusion', '--window', '100'])
    expect(a.code).toBe(2)
    expect(a.stderr).toMatch(/--window/)
    expect(a.stderr).toMatch(/64x64/)
    const b = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'occlusion', '--window', '8', '--stride', '12'])
    expect(b.code).toBe(2)
    expect(b.stderr).toMatch(/--stride/)
    const c = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'rise', '--keep', '0'])
    expect(c.code).toBe(2)
    expect(c.stderr).toMatch(/--keep/)
    const d = await cli(['cam', '--model', model, '--images', input, '--out', out, '--method', 'rise', '--cell-size', '65'])
    expect(d.code).toBe(2)
    expect(d.stderr).toMatch(/--cell-size/)
  }, 60_000)
})
