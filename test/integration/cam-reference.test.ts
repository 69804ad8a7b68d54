import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { resolveLayer } from '../../src/main/engine/model/layers'
import type { CamMethod } from '../../src/main/engine/cam/methods'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { downstreamOps, expectMatchesReference, loadInputs, loadManifests } from '../cam-reference'
import { fixture } from '../helpers'
import { maxOf } from '../../src/shared/stats'

/**
 * Our Grad-CAM family (onnxruntime + our VJP compiler) against PyTorch autograd references made by
 * scripts/fixtures/make_cam_fixtures.py on small models built from torchvision's blocks.
 */
const manifests = loadManifests(fixture('cam'))

/** Every fixture architecture, each with references at the pooled layer and at a mid-network layer. */
const ARCHITECTURES = ['mini_densenet', 'mini_efficientnet', 'mini_mobilenet_v2', 'mini_mobilenet_v3', 'mini_resnet', 'mini_vgg_bn']
/** Exported with torch.onnx TrainingMode.PRESERVE: BatchNormalization nodes kept, not folded into the convs. */
const BN_KEPT = ['mini_vgg_bn', 'mini_resnet_bn', 'mini_mobilenet_v3']

describe('reference coverage', () => {
  it('covers every architecture at a mid-network layer and keeps BN in the BN-kept exports', () => {
    const names = manifests.map((m) => m.name)
    for (const arch of ARCHITECTURES) {
      expect(names).toContain(arch)
      const m = manifests.find((x) => x.name === arch)!
      expect(m.cases.filter((c) => c.position === 'mid').length, `${arch}: mid-network cases`).toBeGreaterThan(0)
    }
    for (const name of BN_KEPT) expect(manifests.find((x) => x.name === name)?.export?.bn_kept, `${name} exported with BN kept`).toBe(true)
  })
})

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

  it('has the BatchNormalization nodes its export kept, and its mid-network layers sit before several convs', async () => {
    const model = await LoadedModel.open(m.model)
    const bn = model.index.nodes.filter((n) => n.opType === 'BatchNormalization')
    // torch.onnx's default (eval) export folds each BN that follows a Conv: a model named *_bn, or one
    // exported with TrainingMode.PRESERVE, must really have its BN nodes, in inference mode.
    if (m.name.endsWith('_bn') || m.export?.bn_kept) {
      expect(bn.length, `${m.name}: BatchNormalization nodes`).toBeGreaterThan(0)
      for (const n of bn) expect(n.attrs.training_mode ?? 0, n.name).toBe(0)
    }
    if (m.export) expect(bn.length).toBe(m.export.batchnorm_nodes)
    for (const c of m.cases.filter((x) => x.position === 'mid')) {
      const down = downstreamOps(model.index, c.layer_tensor)
      expect(down.get('Conv') ?? 0, `${c.id}: convs between the layer and the logits`).toBeGreaterThanOrEqual(3)
      if (m.export?.bn_kept) expect(down.get('BatchNormalization') ?? 0, `${c.id}: BN nodes on the gradient path`).toBeGreaterThan(0)
    }
  })

  it.each(m.cases.map((c) => [c.id, c] as const))('%s matches PyTorch (Pearson r >= 0.999 per map, raw map within 1e-3 of its scale)', async (_id, c) => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    const runner = await CamRunner.create(model, { method: c.method as CamMethod, layer: c.layer_tensor })
    const targets = c.targets ?? inputs.map(() => -1)
    const out = await runner.run(inputs, targets)
    await expectMatchesReference(m, c, out)
    await runner.release()
  })
})
