import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { CAM_METHOD_CATALOGUE } from '../../src/shared/registry/cam-methods'

const FORWARD_METHODS = CAM_METHOD_CATALOGUE.filter((m) => m.needs === 'activations').map((m) => m.id)
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { expectMatchesReference, loadInputs, loadManifests, type ReferenceCase, type ReferenceManifest } from '../cam-reference'
import { fixture } from '../helpers'

/**
 * The forward-only methods (Score-CAM, Eigen-CAM) against the float64 PyTorch references of
 * scripts/fixtures/cam_reference.py (scorecam_raw, eigencam_raw), written by make_cam_fixtures.py.
 *
 * mini_resnet's layer4 and mini_mobilenet_v2's last layer are 2x2, where Eigen-CAM's centred
 * activation matrix has rank <= 3: those maps are coarse but still well defined (the first two
 * singular values differ by >= 7% on every fixture image). layer3 (4x4) is the more telling check.
 */
const forward = (FORWARD_METHODS as readonly string[]).includes.bind(FORWARD_METHODS)
const cases: [string, ReferenceManifest, ReferenceCase][] = loadManifests(fixture('cam')).flatMap((m) =>
  m.cases.filter((c) => forward(c.method)).map((c) => [`${m.name}/${c.id}`, m, c] as [string, ReferenceManifest, ReferenceCase])
)

describe('forward-only CAM methods match PyTorch', () => {
  it('has the expected reference cases', () => {
    expect(cases.map(([id]) => id).sort()).toEqual(
      [
        'mini_mobilenet_v2/eigencam_last',
        'mini_resnet/eigencam_last',
        'mini_resnet/eigencam_layer3',
        'mini_resnet/scorecam_last',
        'mini_resnet/scorecam_layer3'
      ].sort()
    )
  })

  it.each(cases)('%s (Pearson r >= 0.999 per map)', async (_id, m, c) => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    // A batch size that does not divide the channel count, so the last Score-CAM batch is partial.
    const runner = await CamRunner.create(model, { method: c.method as 'eigencam' | 'scorecam', layer: c.layer_tensor, scoreBatch: 24 })
    try {
      const out = await runner.run(inputs, c.targets ?? inputs.map(() => -1))
      await expectMatchesReference(m, c, out)
      if (c.method === 'eigencam') {
        // No class enters Eigen-CAM: other targets give the same maps.
        const other = await runner.run(inputs, inputs.map((_, i) => (c.targets_used[i] + 1) % m.logits[i].length))
        other.forEach((r, i) => expect(Array.from(r.map)).toEqual(Array.from(out[i].map)))
      }
    } finally {
      await runner.release()
    }
  })
})
