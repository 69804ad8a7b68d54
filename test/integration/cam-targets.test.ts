import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { planCam } from '../../src/main/engine/cam/plan'
import { RULES } from '../../src/main/engine/autodiff/rules'
import { NON_DIFFERENTIABLE } from '../../src/main/engine/autodiff/nondiff'
import { readNpy } from '../../src/main/engine/data/npy'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import type { CamMethodId } from '../../src/shared/registry/cam-methods'
import { pearson } from '../cam-reference'
import { fixture, rejection } from '../helpers'

/**
 * Targets beyond "the score of class c" (contrast, a segmentation region or class, an embedding's
 * similarity to a reference) against scripts/fixtures/targets_reference.py: float64 PyTorch autograd
 * on the torch modules, Grad-CAM's ReLU'd map at layer resolution and Saliency's per-pixel map.
 */
interface Case {
  id: string
  model: string
  method: 'gradcam' | 'saliency'
  layer?: string
  target: string
  images: number[]
  objective: number[]
  map: string
}
interface Manifest {
  inputs: string[]
  models: Record<string, { file: string; output?: number[]; ops?: string[]; mask?: string }>
  cases: Case[]
}

const ROOT = fixture('targets')
const manifest: Manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8'))
const models = new Map<string, Promise<LoadedModel>>()
const open = (name: string) => {
  if (!models.has(name)) models.set(name, LoadedModel.open(fixture(manifest.models[name].file)))
  return models.get(name)!
}
// Targets name the fixture files relative to test/fixtures/.
const targetOf = (c: Case) => (c.target.startsWith('similarity:') ? `similarity:${fixture(c.target.slice('similarity:'.length))}` : c.target)

async function run(c: Case, target = targetOf(c)) {
  const model = await open(c.model)
  const inputs = await Promise.all(c.images.map(async (i) => (await readNpy(fixture(manifest.inputs[i]))).data))
  const plan = await planCam(model, [], { method: c.method as CamMethodId, layer: c.layer ?? 'auto', target })
  try {
    return { plan, out: await plan.runner.run(inputs, inputs.map(() => plan.target)) }
  } finally {
    await plan.runner.release()
  }
}

describe('CAM targets beyond one class score match their PyTorch definitions', () => {
  it('the loader tells segmentation, embedding-or-scores and classifier outputs apart', async () => {
    const seg = await open('tiny_seg')
    expect(seg.outputKind).toBe('segmentation')
    expect(seg.summary.outputKind).toBe('segmentation')
    expect((await open('lraspp_mini')).outputKind).toBe('segmentation')
    expect((await open('lraspp_mini')).numClasses).toBe(4)
    // A per-pixel Softmax over the classes: the maps differentiate the logits before it.
    expect((await open('tiny_seg_softmax')).score.activation).toBe('softmax')
    // The BatchNorm-kept export: the contrast maps go through the BatchNormalization rule.
    expect((await open('mini_resnet_bn')).summary.opTypes.BatchNormalization).toBeGreaterThan(0)
    // No labels and no final activation: class scores or an embedding, the user's choice (never assumed).
    expect((await open('tiny_embed')).outputKind).toBe('scores')
    expect((await open('mini_softmax')).outputKind).toBe('classes')
    expect((await open('tiny_multilabel')).outputKind).toBe('multilabel')
    expect((await open('tiny_regression')).outputKind).toBe('regression')
    // The audit and few-shot adaptation read one class per image: they refuse a segmentation model by name.
    expect(() => seg.requireImageClassifier('the audit')).toThrow(/tiny_seg.onnx is a segmentation model .* the audit needs one class per image/)
  })

  it("every op of torchvision's LR-ASPP export has a gradient rule or carries none", () => {
    const ops = manifest.models.lraspp_mini.ops!
    expect(ops).toContain('Resize')
    expect(ops.filter((op) => !RULES[op] && !NON_DIFFERENTIABLE.has(op) && op !== 'Constant')).toEqual([])
  })

  it.each(manifest.cases.map((c) => [c.id, c] as [string, Case]))('%s (Pearson r >= 0.999 per map, the objective as the reference)', async (_id, c) => {
    const { out } = await run(c)
    const { shape, data } = await readNpy(join(ROOT, c.map))
    const per = shape[1] * shape[2]
    out.forEach((r, i) => {
      expect(r.rawShape).toEqual([shape[1], shape[2]])
      expect(r.target.logit, `image ${i} objective`).toBeCloseTo(c.objective[i], Math.abs(c.objective[i]) > 10 ? 2 : 4)
      expect(pearson(Array.from(r.raw), Array.from(data.subarray(i * per, (i + 1) * per))), `image ${i}`).toBeGreaterThanOrEqual(0.999)
    })
  })

  it.each(['tiny_seg', 'lraspp_mini'])("%s: each result carries the predicted mask (the reference's argmax over the classes)", async (name) => {
    const c = manifest.cases.find((x) => x.model === name && x.method === 'gradcam')!
    const { out } = await run(c)
    const ref = await readNpy(join(ROOT, manifest.models[name].mask!))
    const [, h, w] = ref.shape
    out.forEach((r, i) => {
      expect([r.mask!.h, r.mask!.w]).toEqual([h, w])
      const want = ref.data.subarray(i * h * w, (i + 1) * h * w)
      const same = r.mask!.data.filter((v, p) => v === want[p]).length
      // float32 against float64: a pixel whose two best classes tie within rounding may differ.
      expect(same / (h * w), `image ${i}`).toBeGreaterThanOrEqual(0.99)
    })
    // Not one class everywhere: the masks tell classes apart (tiny_seg's first image is all class 2).
    expect(new Set(out.flatMap((r) => [...r.mask!.data])).size).toBeGreaterThan(2)
  })

  it('a contrast map is not the first class\'s own map', async () => {
    const c = manifest.cases.find((x) => x.id === 'mini_resnet_contrast_saliency')!
    const contrast = await run(c)
    const alone = await run(c, '5')
    expect(contrast.out[0].target.index).toBe(5)
    expect(contrast.out[0].target.label).toContain('−')
    expect(pearson(Array.from(contrast.out[0].raw), Array.from(alone.out[0].raw))).toBeLessThan(0.99)
  })

  it('a segmentation model: the forward CAMs read each class\'s mean over the output; the perturbation methods are refused', async () => {
    const c = manifest.cases.find((x) => x.id === 'tiny_seg_class_gradcam')!
    const grad = await run(c)
    for (const method of ['scorecam', 'eigencam'] as const) {
      const { out } = await run({ ...c, method: method as never })
      expect(out[0].rawShape).toEqual([32, 32])
      // The same class and its mean logit as the gradient run's.
      expect(out[0].target.index).toBe(1)
      expect(out[0].target.logit).toBeCloseTo(grad.out[0].target.logit, 5)
    }
    const err = await rejection(planCam(await open('tiny_seg'), [], { method: 'occlusion', layer: 'auto', target: '1' }))
    expect(err.details?.field).toBe('method')
  })

  it('bad targets are refused naming the target field', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['mini_resnet', 'gradcam', 'contrast:5', /contrast:<A>,<B>/],
      ['mini_resnet', 'gradcam', 'contrast:5,5', /itself/],
      ['mini_resnet', 'gradcam', 'contrast:5,99', /out of range/],
      ['mini_resnet', 'gradcam', 'region:1@0,0,4,4', /segmentation model/],
      ['tiny_seg', 'gradcam', 'region:1@0,0,40,4', /outside .*32x32/],
      ['tiny_seg', 'gradcam', 'region:1@4,4,2,8', /empty/],
      ['tiny_seg', 'gradcam', 'output:1', /per-pixel/],
      ['tiny_embed', 'gradcam', 'output:8', /out of range/],
      ['tiny_embed', 'gradcam', 'similarity:/no/such/file.png', /reference \/no\/such\/file.png cannot be used/],
      ['mini_resnet', 'eigencam', 'contrast:1,2', /gradient/]
    ]
    for (const [name, method, target, message] of cases) {
      const model = await open(name)
      const err = await rejection(planCam(model, [], { method: method as CamMethodId, layer: 'auto', target }))
      expect(err.message, target).toMatch(message)
      expect(err.details?.field, target).toBe('target')
    }
  })
})
