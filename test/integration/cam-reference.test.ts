import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { resolveLayer } from '../../src/main/engine/cam/layers'
import type { CamMethod } from '../../src/main/engine/cam/methods'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { loadInputs, loadManifests, loadMaps, maxAbs, pearson } from '../cam-reference'
import { fixture } from '../helpers'

/**
 * Our Grad-CAM family (onnxruntime + our VJP compiler) against PyTorch autograd references made by
 * scripts/fixtures/make_cam_fixtures.py on small models built from torchvision's blocks.
 */
const manifests = loadManifests(fixture('cam'))

describe.each(manifests.map((m) => [m.name, m] as const))('%s', (_name, m) => {
  it('opens, predicts the reference logits, and resolves the layer scope', async () => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    const runner = await CamRunner.create(model, { method: 'gradcam', layer: m.cases[0].layer_tensor })
    const out = await runner.run(inputs, inputs.map(() => -1))
    out.forEach((r, i) => {
      const ref = m.logits[i]
      const top = ref.indexOf(Math.max(...ref))
      expect(r.top5[0].index).toBe(top)
      expect(r.target.logit).toBeCloseTo(ref[top], 3)
    })
    await runner.release()
    for (const c of m.cases) {
      const spec = c.layer_scope === '' ? 'auto' : c.layer_scope
      expect(resolveLayer(model.index, model.shapes, model.types, spec, m.model)).toBe(c.layer_tensor)
    }
  })

  it.each(m.cases.map((c) => [c.id, c] as const))('%s matches PyTorch (Pearson r >= 0.999 per map)', async (_id, c) => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    const runner = await CamRunner.create(model, { method: c.method as CamMethod, layer: c.layer_tensor })
    const targets = c.targets ?? inputs.map(() => -1)
    const out = await runner.run(inputs, targets)
    const refMaps = await loadMaps(m, c.map)
    const refRaw = await loadMaps(m, c.raw)
    out.forEach((r, i) => {
      expect(r.target.index).toBe(c.targets_used[i])
      if (maxAbs(refMaps[i]) < 1e-6) {
        // The reference CAM is negative everywhere, so ReLU leaves nothing: ours must be all zero too, not NaN.
        expect(maxAbs(r.map)).toBeLessThan(1e-6)
        return
      }
      expect(pearson(r.map, refMaps[i])).toBeGreaterThanOrEqual(0.999)
      // Raw maps (before normalisation) agree in scale too: they are what shared-scale views compare.
      const scale = maxAbs(refRaw[i])
      for (let p = 0; p < refRaw[i].length; p++) expect(Math.abs(r.raw[p] - refRaw[i][p])).toBeLessThan(1e-3 * scale + 1e-6)
    })
    await runner.release()
  })
})
