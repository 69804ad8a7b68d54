import { describe, expect, it } from 'vitest'
import { planCam } from '../../src/main/engine/cam/plan'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import type { CamMethodId } from '../../src/shared/registry/cam-methods'
import { maxOf } from '../../src/shared/stats'
import { expectMatchesReference, loadInputs, loadManifests, loadMaps, pearson, type ReferenceCase, type ReferenceManifest } from '../cam-reference'
import { fixture } from '../helpers'

/**
 * Element-wise Grad-CAM, EigenGrad-CAM, Ablation-CAM, KPCA-CAM, FinerCAM and FullGrad against the float64 PyTorch
 * references of scripts/fixtures/cam_more_reference.py (pytorch-grad-cam's definitions, sklearn's
 * KernelPCA), over the committed ONNX files of mini_resnet, mini_resnet_bn (BatchNormalization kept)
 * and mini_softmax (ends in Softmax: the methods read the score before it), at the last layer (2x2,
 * and layer3 4x4) and mid-network (layer2, 8x8). ablationcam_layer3conv ablates a signed tensor inside
 * a residual block: the value is the minimum - 1e7 and the skip branch is recomputed from the image.
 */
type Case = ReferenceCase & { layers?: string[]; activation_shape: number[] }
const manifests = loadManifests(fixture('cam-more'))
const byLayers = (multi: boolean): [string, ReferenceManifest, Case][] =>
  manifests.flatMap((m) => (m.cases as Case[]).filter((c) => !!c.layers === multi).map((c) => [`${m.name}/${c.id}`, m, c] as [string, ReferenceManifest, Case]))
const single = byLayers(false)
const multi = byLayers(true)

describe('more CAM methods match their PyTorch definitions', () => {
  it('covers each new method at a last and a mid-network layer of each model', () => {
    for (const method of ['gradcamelementwise', 'eigengradcam', 'ablationcam', 'kpcacam', 'finercam']) {
      for (const name of ['mini_resnet', 'mini_resnet_bn', 'mini_softmax']) {
        const mine = single.filter(([, m, c]) => m.name === name && c.method === method)
        expect(mine.some(([, , c]) => c.position === 'mid'), `${name} ${method} mid`).toBe(true)
      }
      expect(single.some(([, m, c]) => m.name !== 'mini_resnet_bn' && c.method === method && c.position === 'last')).toBe(true)
    }
    // FullGrad reads every bias layer (no chosen layer): on each model, BatchNormalization kept or folded.
    expect(single.filter(([, , c]) => c.method === 'fullgrad').map(([, m]) => m.name).sort()).toEqual(['mini_resnet', 'mini_resnet_bn', 'mini_softmax'])
    expect(manifests.find((m) => m.name === 'mini_resnet_bn')!.export!.bn_kept).toBe(true)
  })

  it.each(single)('%s (Pearson r >= 0.999 per map, raw maps within 1e-3)', async (_id, m, c) => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    // A batch size that does not divide the channel count, so Ablation-CAM's last batch is partial.
    const runner = await CamRunner.create(model, { method: c.method as CamMethodId, layer: c.layer_tensor, scoreBatch: 24 })
    try {
      const steps: number[] = []
      const out = await runner.run(inputs, c.targets ?? inputs.map(() => -1), undefined, (_i, done) => steps.push(done))
      await expectMatchesReference(m, c, out)
      if (c.method === 'ablationcam') {
        // One pass per channel in batches of 24, reported after each batch, for each image.
        const k = c.activation_shape[1]
        const perImage = [0, ...Array.from({ length: Math.ceil(k / 24) }, (_, i) => Math.min(k, (i + 1) * 24))]
        expect(steps).toEqual([...perImage, ...perImage, ...perImage])
      }
      if (c.method === 'kpcacam') {
        // No class enters KPCA-CAM: other targets give the same maps.
        const other = await runner.run(inputs, inputs.map((_, i) => (c.targets_used[i] + 1) % m.logits[i].length))
        other.forEach((r, i) => expect(Array.from(r.map)).toEqual(Array.from(out[i].map)))
      }
    } finally {
      await runner.release()
    }
  })

  it.each(multi)('%s: several layers, averaged as pytorch-grad-cam does (Pearson r >= 0.999 per map)', async (_id, m, c) => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    const runner = await CamRunner.create(model, { method: c.method as CamMethodId, layer: c.layers!.join(','), scoreBatch: 24 })
    try {
      expect(runner.layer).toBe(c.layers!.join(','))
      const out = await runner.run(inputs, inputs.map(() => -1))
      const refs = await loadMaps(m, c.map)
      out.forEach((r, i) => {
        expect(r.target.index).toBe(c.targets_used[i])
        expect(r.rawShape).toEqual(m.input_size)
        expect(pearson(Array.from(r.map), Array.from(refs[i])), `image ${i}`).toBeGreaterThanOrEqual(0.999)
        expect(maxOf(r.map.map((v, p) => Math.abs(v - refs[i][p])))).toBeLessThan(1e-3)
      })
      // Not the first layer's map alone: the average differs from it.
      const alone = await CamRunner.create(model, { method: c.method as CamMethodId, layer: c.layers![0] })
      try {
        const first = await alone.run(inputs, inputs.map(() => -1))
        expect(pearson(Array.from(first[0].map), Array.from(refs[0]))).toBeLessThan(0.99)
      } finally {
        await alone.release()
      }
    } finally {
      await runner.release()
    }
  })

  it('FinerCAM takes a class target only: a contrast is refused, naming the target field', async () => {
    const model = await LoadedModel.open(manifests[0].model)
    await expect(planCam(model, [], { method: 'finercam', layer: 'auto', target: 'contrast:0,1' })).rejects.toMatchObject({ details: { field: 'target' } })
    // The same target is fine for Grad-CAM: the refusal is FinerCAM's.
    const plan = await planCam(model, [], { method: 'gradcam', layer: 'auto', target: 'contrast:0,1' })
    await plan.runner.release()
  })

  it('a layer list with an empty entry is an error naming the layer field', async () => {
    const m = manifests[0]
    const model = await LoadedModel.open(m.model)
    await expect(CamRunner.create(model, { method: 'gradcam', layer: 'layer2,,layer4' })).rejects.toMatchObject({ details: { field: 'layer' } })
    await expect(CamRunner.create(model, { method: 'gradcam', layer: 'layer2,nolayer' })).rejects.toMatchObject({ details: { field: 'layer' } })
  })
})
