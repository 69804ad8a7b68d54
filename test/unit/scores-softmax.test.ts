import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import type { CamMethod } from '../../src/main/engine/cam/methods'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { expectMatchesReference, loadInputs, loadManifests, pearson } from '../cam-reference'
import { fixture, tempDir } from '../helpers'
import { writeModel } from '../synthetic-models'
import { maxOf } from '../../src/shared/stats'

/**
 * Classifiers whose graph ends in Softmax (Keras, tf2onnx, Paddle2ONNX exports): the probabilities
 * shown are the model's own output, and Grad-CAM differentiates the class score before the Softmax
 * (the seed's y^c), not the probability. Reference: make_cam_fixtures.py's mini_softmax, a small
 * ResNet exported by torch.onnx (opset 13) with a final Softmax and a reshape after it, whose maps
 * PyTorch autograd computed on the pre-softmax scores.
 */
const m = loadManifests(fixture('cam')).find((x) => x.name === 'mini_softmax')!
const extra = JSON.parse(readFileSync(fixture('cam', 'mini_softmax', 'manifest.json'), 'utf8')) as {
  score_tensor: string
  probabilities: number[][]
  gradcam_of_probability_pearson: number[]
}

describe('a model ending in Softmax (mini_softmax, torch.onnx opset 13)', () => {
  it('finds the score tensor before the Softmax, through the reshape after it', async () => {
    const model = await LoadedModel.open(m.model)
    expect(model.index.producer.get(model.logitsName)?.opType).toBe('Reshape')
    expect(model.score).toEqual({ name: extra.score_tensor, activation: 'softmax' })
  })

  it('the reference can tell the score map from the probability map', () => {
    // Otherwise the Pearson checks below would pass whichever tensor was differentiated.
    for (const r of extra.gradcam_of_probability_pearson) expect(r).toBeLessThan(0.99)
  })

  it.each(m.cases.map((c) => [c.id, c] as const))('%s: probabilities are the model output, the map is Grad-CAM of the score (r >= 0.999)', async (_id, c) => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    const runner = await CamRunner.create(model, { method: c.method as CamMethod, layer: c.layer_tensor })
    const out = await runner.run(inputs, c.targets ?? inputs.map(() => -1))
    await runner.release()
    out.forEach((r, i) => {
      expect(r.scoreTensor).toBe(extra.score_tensor)
      for (const p of [...r.top5, r.target]) expect(Math.abs(p.probability - extra.probabilities[i][p.index]), `image ${i} class ${p.index}`).toBeLessThan(1e-4)
      // The score PyTorch differentiated, not the probability.
      expect(r.target.logit).toBeCloseTo(m.logits[i][r.target.index], 3)
    })
    await expectMatchesReference(m, c, out)
  })

  it('forward-only methods also report the model probabilities and the score tensor', async () => {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    for (const method of ['eigencam', 'scorecam'] as CamMethod[]) {
      const runner = await CamRunner.create(model, { method, layer: m.cases[0].layer_tensor })
      const out = await runner.run(inputs, inputs.map(() => -1))
      await runner.release()
      out.forEach((r, i) => {
        expect(r.scoreTensor).toBe(extra.score_tensor)
        expect(Math.abs(r.top5[0].probability - maxOf(extra.probabilities[i]))).toBeLessThan(1e-4)
      })
    }
  })
})

/**
 * Hand-built twins: one classifier with plain logits, and the same one with a final activation
 * (and trivial ops after it). Same weights, so their maps must be identical, and the probabilities
 * shown must be what the model itself outputs (run here by onnxruntime directly).
 */
type Nodes = Parameters<typeof writeModel>[2]
const body: Nodes = [
  { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { op: 'Relu', inputs: ['conv'], output: 'act' },
  { op: 'GlobalAveragePool', inputs: ['act'], output: 'pool' },
  { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } }
]
const init = { cw: [4, 3, 3, 3], w: [5, 4], b: [5] }

describe('final activations on hand-built twins', () => {
  const dir = tempDir()
  const plain = writeModel(dir, 'plain.onnx', [...body, { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }], init, 5)
  const tails: Record<string, { nodes: Nodes; activation: string; score: string }> = {
    sigmoid: {
      nodes: [{ op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'scores', attrs: { transB: 1 } }, { op: 'Sigmoid', inputs: ['scores'], output: 'logits' }],
      activation: 'sigmoid',
      score: 'scores'
    },
    logsoftmax: {
      nodes: [{ op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'scores', attrs: { transB: 1 } }, { op: 'LogSoftmax', inputs: ['scores'], output: 'logits', attrs: { axis: 1 } }],
      activation: 'logsoftmax',
      score: 'scores'
    },
    'softmax + identity': {
      nodes: [
        { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'scores', attrs: { transB: 1 } },
        { op: 'Softmax', inputs: ['scores'], output: 'probs' },
        { op: 'Identity', inputs: ['probs'], output: 'logits' }
      ],
      activation: 'softmax',
      score: 'scores'
    }
  }
  const image = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37) * 2 + Math.cos(i * 0.11))
  const image2 = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.cos(i * 0.23) * 2 - Math.sin(i * 0.07))

  it.each(Object.entries(tails))('%s: same maps as the plain twin, probabilities are the model output', async (name, tail) => {
    const path = writeModel(dir, `${name.replace(/\W+/g, '_')}.onnx`, [...body, ...tail.nodes], init, 5)
    const model = await LoadedModel.open(path)
    expect(model.score).toEqual({ name: tail.score, activation: tail.activation })
    const twin = await LoadedModel.open(plain)
    for (const method of ['gradcam', 'layercam', 'scorecam'] as CamMethod[]) {
      const a = await CamRunner.create(model, { method, layer: 'act' })
      const b = await CamRunner.create(twin, { method, layer: 'act' })
      const targets = [-1, 2]
      const [ra, rb] = [await a.run([image, image2], targets), await b.run([image, image2], targets)]
      await a.release()
      await b.release()
      ra.forEach((r, i) => {
        expect(r.target.index).toBe(rb[i].target.index)
        expect(r.target.logit).toBeCloseTo(rb[i].target.logit, 5)
        expect(pearson(r.map, rb[i].map)).toBeGreaterThan(0.99999)
      })
    }
    // The model's own output, computed by onnxruntime on the unmodified file.
    const session = await OrtSession.create(readFileSync(path), path)
    const own = (await session.run({ input: floatTensor(image, [1, 3, 8, 8]) }))['logits'].data as Float32Array
    await session.release()
    const runner = await CamRunner.create(model, { method: 'gradcam', layer: 'act' })
    const [r] = await runner.run([image], [-1])
    await runner.release()
    const expected = tail.activation === 'logsoftmax' ? Array.from(own, Math.exp) : Array.from(own)
    for (const p of r.top5) expect(p.probability).toBeCloseTo(expected[p.index], 6)
  })

  it('scores shaped [N, K, 1, 1] (a conv classifier, SqueezeNet-style): Softmax over axis 1, then Flatten', async () => {
    const conv: Nodes = [
      { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['conv'], output: 'act' },
      { op: 'Conv', inputs: ['act', 'hw'], output: 'cls', attrs: { kernel_shape: [1, 1] } },
      { op: 'GlobalAveragePool', inputs: ['cls'], output: 'pooled' }
    ]
    const headInit = { cw: [4, 3, 3, 3], hw: [5, 4, 1, 1] }
    const soft = writeModel(dir, 'squeeze_softmax.onnx', [
      ...conv,
      { op: 'Softmax', inputs: ['pooled'], output: 'probs', attrs: { axis: 1 } },
      { op: 'Flatten', inputs: ['probs'], output: 'logits', attrs: { axis: 1 } }
    ], headInit, 5)
    const flat = writeModel(dir, 'squeeze_plain.onnx', [...conv, { op: 'Flatten', inputs: ['pooled'], output: 'logits', attrs: { axis: 1 } }], headInit, 5)
    const model = await LoadedModel.open(soft)
    expect(model.score).toEqual({ name: 'pooled', activation: 'softmax' })
    const a = await CamRunner.create(model, { method: 'gradcam', layer: 'act' })
    const b = await CamRunner.create(await LoadedModel.open(flat), { method: 'gradcam', layer: 'act' })
    const [ra, rb] = [await a.run([image, image2], [-1, 3]), await b.run([image, image2], [-1, 3])]
    await a.release()
    await b.release()
    ra.forEach((r, i) => {
      expect(r.target.index).toBe(rb[i].target.index)
      expect(r.target.logit).toBeCloseTo(rb[i].target.logit, 5)
      // The plain twin's probabilities are the softmax of the same scores: what the Softmax model outputs.
      for (const p of r.top5) expect(p.probability).toBeCloseTo(rb[i].top5.find((q) => q.index === p.index)!.probability, 6)
      expect(pearson(r.map, rb[i].map)).toBeGreaterThan(0.99999)
    })
  })

  it('a Softmax over another axis than the classes is not taken for the class scores', async () => {
    // Softmax over the batch axis normalises something else: the output stays the scores.
    const path = writeModel(dir, 'odd.onnx', [
      ...body,
      { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'scores', attrs: { transB: 1 } },
      { op: 'Softmax', inputs: ['scores'], output: 'logits', attrs: { axis: 0 } }
    ], init, 5)
    const loaded = await LoadedModel.open(path)
    expect(loaded.score).toEqual({ name: 'logits', activation: 'none' })
  })
})
