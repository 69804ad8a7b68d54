import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { planAudit } from '../../src/main/engine/audit/plan'
import { runAudit } from '../../src/main/engine/audit/run-audit'
import { ROOT, tempDir } from '../helpers'
import { writeModel } from '../synthetic-models'
import { maxOf } from '../../src/shared/stats'

/**
 * The audit takes cam.run's preprocessing options (issue #20 item 8): a size for a model with dynamic
 * height and width, and the channel order for BGR models.
 */
const dir = tempDir()
const fixed = writeModel(
  dir,
  'fixed.onnx',
  [
    { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
    { op: 'Relu', inputs: ['conv'], output: 'act' },
    { op: 'GlobalAveragePool', inputs: ['act'], output: 'pool' },
    { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
  ],
  { cw: [4, 3, 3, 3], w: [2, 4], b: [2] },
  2,
  [1, 3, 48, 64]
)
/** The same network with symbolic height and width. */
function dynamicModel(): string {
  const model = onnx.ModelProto.decode(readFileSync(fixed))
  const dims = model.graph!.input![0].type!.tensorType!.shape!.dim!
  dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'height' })
  dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'width' })
  const path = join(dir, 'dynamic.onnx')
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

/** Two class folders of real photos; `swap` writes them with red and blue exchanged. */
async function photos(name: string, swap: boolean): Promise<string> {
  const root = join(dir, name)
  const src = join(ROOT, 'test', 'fixtures', 'images')
  for (const [c, folder] of [['0', 'animals'], ['1', 'objects']]) {
    mkdirSync(join(root, c), { recursive: true })
    for (const f of readdirSync(join(src, folder)).sort()) {
      let img = sharp(join(src, folder, f)).removeAlpha().resize(96, 72)
      if (swap) img = img.recomb([[0, 0, 1], [0, 1, 0], [1, 0, 0]])
      await img.png().toFile(join(root, c, f.replace(/\.\w+$/, '.png')))
    }
  }
  return root
}

const settings = { methods: ['gradcam'], metrics: ['deletion', 'insertion', 'confidence', 'calibration', 'sanity'], steps: 4, sanityImages: 2, sanitySteps: 2, worst: 1 }

describe('audit preprocessing options', () => {
  it('runs a dynamic-size model at the size asked for, sanity check included', async () => {
    const plan = await planAudit({ modelPath: dynamicModel(), imagesDir: await photos('plain', false), settings: { ...settings, size: { width: 80, height: 40 } } })
    expect(plan.model.inputChw).toEqual([3, 40, 80])
    const file = await runAudit(plan)
    expect(file.model.preprocessing.size).toEqual([40, 80])
    expect(file.images.every((i) => !i.error)).toBe(true)
    expect(file.sanity?.steps.length).toBeGreaterThan(0)
  })

  // Per-channel normalisation would differ between the two (its means follow the model's channels), so [0, 1] scaling.
  it('a BGR model sees the same image as an RGB run on red/blue-swapped files', async () => {
    const bgr = await runAudit(await planAudit({ modelPath: fixed, imagesDir: await photos('rgb', false), settings: { ...settings, metrics: ['confidence'], normalization: 'unit', channelOrder: 'bgr' } }))
    const swapped = await runAudit(await planAudit({ modelPath: fixed, imagesDir: await photos('bgr', true), settings: { ...settings, metrics: ['confidence'], normalization: 'unit' } }))
    const rgb = await runAudit(await planAudit({ modelPath: fixed, imagesDir: await photos('rgb2', false), settings: { ...settings, metrics: ['confidence'], normalization: 'unit' } }))
    expect(bgr.model.preprocessing.channelOrder).toBe('bgr')
    const conf = (f: typeof bgr) => f.images.map((i) => i.confidence!)
    for (const [a, b] of conf(bgr).map((c, i) => [c, conf(swapped)[i]])) expect(Math.abs(a - b)).toBeLessThan(1e-5)
    // ... and the choice matters: plain RGB sees something else.
    expect(maxOf(conf(bgr).map((c, i) => Math.abs(c - conf(rgb)[i])))).toBeGreaterThan(1e-4)
  })
})
