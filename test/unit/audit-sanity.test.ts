import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cascadeCuts, cascadeLayers, camMaker, classLayerVerdict, runSanity, sanityVerdict, type MapMaker } from '../../src/main/engine/audit/sanity'
import { sanity } from '../../src/main/engine/audit/metrics/sanity'
import { AuditSettings } from '../../src/shared/audit'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { resolveLayer } from '../../src/main/engine/model/layers'
import { expandImagePaths } from '../../src/main/engine/data/images'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { fixture, ROOT } from '../helpers'

/**
 * A deliberately broken "explanation": the image's own intensity (channel mean), min-max scaled. It
 * ignores the model entirely, like an edge detector would, so the randomisation check must flag it.
 */
const intensity: MapMaker = {
  name: 'intensity',
  async create(model) {
    const [c, h, w] = model.inputChw
    return {
      async maps(inputs) {
        return inputs.map((x) => {
          const m = new Float32Array(h * w)
          for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) m[p] += (model.layout === 'NCHW' ? x[k * h * w + p] : x[p * c + k]) / c
          let lo = Infinity
          let hi = -Infinity
          for (const v of m) {
            lo = Math.min(lo, v)
            hi = Math.max(hi, v)
          }
          return m.map((v) => (v - lo) / (hi - lo || 1))
        })
      },
      release: async () => {}
    }
  }
}

async function check(modelPath: string, imagePaths: string[]) {
  const model = await LoadedModel.open(modelPath)
  const pre = modelPreprocess(model)
  const inputs = await Promise.all(imagePaths.map(async (p) => (await loadImageTensor(p, pre)).data))
  const layer = resolveLayer(model.index, model.shapes, model.types, 'auto', model.path)
  const out = await runSanity({ model, inputs, targets: inputs.map(() => 0), makers: [camMaker('gradcam', layer), intensity], steps: 4, seed: 0 })
  const last = (m: string) => {
    const mean = (rows: number[][]) => rows[rows.length - 1].reduce((a, b) => a + b, 0) / rows[rows.length - 1].length
    return sanityVerdict(mean(out.spearman[m]), mean(out.ssim[m]))
  }
  return { out, gradcam: last('gradcam'), intensity: last('intensity') }
}

describe('audit sanity check (cascading randomisation)', () => {
  it('flags a map that ignores the weights and passes Grad-CAM on the trained demo model', async () => {
    const { files } = await expandImagePaths([join(ROOT, 'resources', 'demo', 'images')])
    const { out, gradcam, intensity: broken } = await check(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'), files.filter((_, i) => i % 8 === 0))
    expect(out.steps.map((s) => s.layersRandomised)).toEqual([1, 2, 3, 4])
    expect(out.spearman.intensity.flat().every((v) => v > 0.999999)).toBe(true)
    expect(broken.flagged).toBe(true)
    expect(gradcam.flagged).toBe(false)
    // Grad-CAM's maps really moved away from the originals.
    expect(out.ssim.gradcam[out.steps.length - 1].every((v) => v < 0.8)).toBe(true)
  }, 120_000)

  it('does the same on a committed fixture ResNet with real photos', async () => {
    const { files } = await expandImagePaths([fixture('images')])
    const { gradcam, intensity: broken } = await check(fixture('models', 'mini_resnet.onnx'), files.slice(0, 3))
    expect(broken.flagged).toBe(true)
    expect(gradcam.flagged).toBe(false)
  }, 120_000)

  it('cascades from the output layer down and spreads the steps to end at every layer', async () => {
    const model = await LoadedModel.open(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'))
    const layers = cascadeLayers(model)
    expect(model.index.producer.get(layers[0].layer)?.opType).toBe('Gemm')
    expect(layers[layers.length - 1].weights).toContain(model.index.consumers.get(model.inputName)![0].inputs[1])
    // The first step re-draws the class layer alone (the class-layer verdict reads it), the last every layer.
    expect(cascadeCuts(10, 4)).toEqual([1, 5, 8, 10])
    expect(cascadeCuts(13, 8)).toEqual([1, 3, 5, 7, 8, 10, 11, 13])
    expect(cascadeCuts(3, 8)).toEqual([1, 2, 3])
    expect(cascadeCuts(5, 1)).toEqual([5])
  })

  it('the class-layer verdict flags a mean Spearman of 0.8 or more, and says so with the number', () => {
    expect(classLayerVerdict(0.8).flagged).toBe(true)
    expect(classLayerVerdict(0.79).flagged).toBe(false)
    expect(classLayerVerdict(0.9).reason).toBe('with only the class layer randomised the maps keep Spearman 0.90 to the originals, at least 0.8: they hardly depend on the layer that decides the class')
    expect(classLayerVerdict(0.1).reason).toBe('with only the class layer randomised the maps keep Spearman 0.10 to the originals')
  })

  it("the summary flags by either verdict, names which, and gives no class-layer verdict when no step re-drew the class layer alone", () => {
    const f = (layersRandomised: number[], spearman: number[], ssim: number[]) =>
      sanity.summarize!({ ok: [], settings: AuditSettings.parse({ methods: ['saliency'] }), labels: [], labelled: false, worst: {}, sanity: { steps: layersRandomised.map((n) => ({ layer: `l${n}`, layersRandomised: n })), images: [{ path: 'a.png', methods: { saliency: { spearman, ssim } } }] } }).sanity!.methods.saliency
    expect(f([1, 4], [0.9, 0.3], [0.5, 0.1])).toMatchObject({ flagged: true, flaggedBy: ['class-layer'], classLayerSpearman: 0.9 })
    expect(f([1, 4], [0.9, 0.6], [0.5, 0.1])).toMatchObject({ flagged: true, flaggedBy: ['class-layer', 'all-layers'] })
    expect(f([1, 4], [0.2, 0.3], [0.1, 0.9])).toMatchObject({ flagged: true, flaggedBy: ['all-layers'], classLayerSpearman: 0.2 })
    expect(f([1, 4], [0.2, 0.3], [0.1, 0.1])).toMatchObject({ flagged: false, flaggedBy: [] })
    const noFirst = f([4], [0.95], [0.1])
    expect(noFirst).toMatchObject({ flagged: true, flaggedBy: ['all-layers'], classLayerSpearman: null })
    expect(noFirst.reason).toMatch(/^no step re-drew the class layer alone/)
  })
})
