import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeNpy } from '../../src/main/engine/data/npy'
import { pearson } from '../cam-reference'
import { fixture, ROOT, runCli, tempDir } from '../helpers'
import { maxOf } from '../../src/shared/stats'


const cli = runCli

describe('cli cam (the file contract)', () => {
  it('writes <stem>.<method>.cam.npy, .png and results.json (named as an export from the app); exit 1 with the failure reported', async () => {
    const dir = tempDir()
    const imgs = join(dir, 'in')
    mkdirSync(imgs)
    copyFileSync(fixture('images', 'animals', 'chelsea.png'), join(imgs, 'chelsea.png'))
    copyFileSync(fixture('images', 'objects', 'coffee.png'), join(imgs, 'coffee.png'))
    writeFileSync(join(imgs, 'zero.jpg'), '')
    const out = join(dir, 'out')
    const r = await cli(['cam', '--model', fixture('models', 'mini_resnet.onnx'), '--images', imgs, fixture('cam', 'mini_resnet', 'input_0.npy'), '--out', out, '--layer', 'layer3', '--method', 'gradcam++', '--batch', '2'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('zero.jpg')
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Record<string, unknown>[]
    expect(results).toHaveLength(4)
    const good = results.filter((x) => x.ok)
    expect(good).toHaveLength(3)
    for (const g of good) {
      expect(g).toMatchObject({ method: 'gradcam++', layer: '/layer3/layer3.0/relu_1/Relu_output_0' })
      expect((g.top5 as unknown[]).length).toBe(5)
      expect(typeof (g.target as { index: number }).index).toBe('number')
      expect(g.ms).toBeGreaterThan(0)
      const stem = g.stem as string
      const map = decodeNpy(readFileSync(join(out, `${stem}.gradcampp.cam.npy`)))
      expect((g.outputs as { npy: string }).npy).toBe(join(out, `${stem}.gradcampp.cam.npy`))
      expect(map.shape).toEqual([64, 64])
      expect(maxOf(map.data)).toBeGreaterThan(0.99)
      expect(readFileSync(join(out, `${stem}.gradcampp.png`)).subarray(1, 4).toString()).toBe('PNG')
    }
    expect(results.find((x) => !x.ok)).toMatchObject({ file: join(imgs, 'zero.jpg'), error: { code: 'bad-file' } })
  })

  it('feeds .npy tensors as they are: the map equals the PyTorch reference; exit 0 when all succeed', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', fixture('models', 'mini_resnet.onnx'), '--images', fixture('cam', 'mini_resnet', 'input_1.npy'), '--out', out, '--layer', 'layer3'])
    expect(r.code).toBe(0)
    const ours = decodeNpy(readFileSync(join(out, 'input_1.gradcam.cam.npy')))
    const ref = decodeNpy(readFileSync(fixture('cam', 'mini_resnet', 'gradcam_layer3.npy')))
    expect(pearson(ours.data, ref.data.subarray(64 * 64, 2 * 64 * 64))).toBeGreaterThan(0.999)
    expect(existsSync(join(out, 'input_1.gradcam.png'))).toBe(true)
  })

  it('rejects an out-of-range target and an unknown method with exit 2 and a message', async () => {
    const out = tempDir()
    const model = fixture('models', 'tiny_cnn.onnx')
    const a = await cli(['cam', '--model', model, '--images', fixture('images'), '--out', out, '--target', '7'])
    expect(a.code).toBe(1)
    expect(a.stderr).toMatch(/Target class 7 is out of range/)
    const b = await cli(['cam', '--model', model, '--images', fixture('images'), '--out', out, '--method', 'magic'])
    expect(b.code).toBe(2)
    expect(b.stderr).toMatch(/--method must be one of/)
  })
})

describe('cli cam on the bundled demo', () => {
  it("follows the model's own preprocessing metadata ([0,1] inputs): most predictions match the folder labels", async () => {
    const out = tempDir()
    const demo = join(ROOT, 'resources', 'demo')
    const r = await cli(['cam', '--model', join(demo, 'fashion_cnn.onnx'), '--images', join(demo, 'images'), '--out', out])
    expect(r.code).toBe(0)
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { file: string; top5: { label: string }[] }[]
    expect(results).toHaveLength(40)
    const norm = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '')
    const right = results.filter((x) => norm(x.top5[0].label) === norm(x.file.split('/').at(-2)!)).length
    // The model scores 90.7% on the test set; fed ImageNet-normalised inputs instead it gets 18 of 40.
    expect(right).toBeGreaterThanOrEqual(30)
  })
})

describe('cli inspect and bench', () => {
  it('inspect prints the summary and layer list as JSON', async () => {
    const r = await cli(['inspect', '--model', fixture('models', 'mini_densenet.onnx')])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.summary.opsets['ai.onnx']).toBe(13)
    expect(j.autoLayer).toBe('/Relu_output_0')
    const relu = j.layers.find((l: { name: string }) => l.name === '/Relu_output_0')
    expect(relu.op).toBe('Relu')
    // 64x64 input, stride 32 overall: a 2x2 map; the dynamic batch axis shows as -1.
    expect(relu.shape).toEqual([-1, expect.any(Number), 2, 2])
  })

  it('bench cam prints one JSON line with the timing fields', async () => {
    const r = await cli(['bench', 'cam', '--model', fixture('models', 'tiny_cnn.onnx'), '--batch', '4', '--iters', '2'])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    const j = JSON.parse(lines[0])
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['model', 'method', 'layer', 'batch', 'provider', 'forward_ms_per_image', 'cam_ms_per_image']))
    expect(j.batch).toBe(4)
    expect(j.provider).toBe('cpu')
  })
})
