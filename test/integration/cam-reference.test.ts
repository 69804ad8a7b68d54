import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { resolveLayer } from '../../src/main/engine/cam/layers'
import type { CamMethod } from '../../src/main/engine/cam/methods'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { expectMatchesReference, loadInputs, loadManifests } from '../cam-reference'
import { fixture } from '../helpers'
import { maxOf } from '../../src/shared/stats'

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
      const top = ref.indexOf(maxOf(ref))
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
    await expectMatchesReference(m, c, out)
    await runner.release()
  })
})
