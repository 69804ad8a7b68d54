import { readFileSync, writeFileSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { resolveLayer } from '../../src/main/engine/model/layers'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { openModelFile } from '../../src/main/engine/formats'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { graphOf } from '../../src/main/engine/onnx/model-file'
import { pearson } from '../cam-reference'
import { maxOf, minOf } from '../../src/shared/stats'
import { fixture, rejection, tempDir } from '../helpers'
import { argmaxRows, gradcamFromGrads, images, maxAbsDiff, pickScores, runConverted, tfjsGraphModel, writeScoresModel } from './tfjs-reference'

/**
 * A TensorFlow.js GraphModel (TF op nodes in tfjs-converter's form, written by
 * scripts/fixtures/make_tfjs_fixtures.ts) converted to ONNX, against tfjs's own loadGraphModel,
 * execute and tf.grad through execute from an intermediate node.
 */
const GRAPH = fixture('tfjs', 'small_graph', 'model.json')
const P = 'MobilenetV2'
const SCORES = `${P}/Logits/add_1`
const N = 3
const DIMS = [N, 32, 32, 3]

let dir: string
beforeAll(async () => {
  dir = tempDir()
  await tf.setBackend('cpu')
})

describe('small CNN GraphModel', () => {
  it('opens as a tfjs GraphModel with the TF node names, NHWC input and NCHW conv activations', async () => {
    const opened = await openModelFile(GRAPH)
    expect(opened.format).toBe('tfjs-graph')
    const g = graphOf(opened.model)
    expect(g.input.map((i) => i.name)).toEqual(['input'])
    const outputs = new Set(g.node.flatMap((n) => n.output))
    for (const n of ['Conv/Relu6', 'expanded_conv/add', 'block_1/se/mul', 'Conv_1/Relu6', 'concat', 'MaxPool', 'Logits/add_1', 'Predictions/Softmax']) {
      expect(outputs.has(`${P}/${n}`), n).toBe(true)
    }
    const last = g.node.at(-1)!
    expect(last.opType).toBe('Softmax')
    expect(last.input).toEqual([SCORES])
    const model = await LoadedModel.open(GRAPH)
    expect(model.layout).toBe('NHWC')
    expect(model.shapes.get(`${P}/Conv_1/Relu6`)).toEqual([2, 24, 8, 8])
    expect(model.shapes.get(`${P}/expanded_conv/add`)).toEqual([2, 8, 16, 16])
    expect(resolveLayer(model.index, model.shapes, model.types, 'auto', GRAPH)).toBe(`${P}/Conv_1/Relu6`)
  })

  it('predicts what tfjs execute gives, before and after the softmax (max abs diff <= 1e-4)', async () => {
    const ref = await tfjsGraphModel(GRAPH)
    const x = images(N, DIMS.slice(1), 3)
    const xt = tf.tensor(x, DIMS)
    const [probs, scores, conv] = ref.execute({ input: xt }, [`${P}/Predictions/Softmax`, SCORES, `${P}/Conv_1/Relu6`]) as tf.Tensor[]
    const got = await runConverted(GRAPH, x, DIMS, [`${P}/Predictions/Softmax`, SCORES, `${P}/Conv_1/Relu6`])
    expect(maxAbsDiff(got[`${P}/Predictions/Softmax`], probs.dataSync())).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(got[SCORES], scores.dataSync())).toBeLessThanOrEqual(1e-4)
    expect(maxOf(scores.dataSync()) - minOf(scores.dataSync())).toBeGreaterThan(0.1)
    const ours = tf.transpose(tf.tensor(got[`${P}/Conv_1/Relu6`], [N, 24, 8, 8]), [0, 2, 3, 1]).dataSync()
    expect(maxAbsDiff(ours, conv.dataSync())).toBeLessThanOrEqual(1e-4)
  })

  it.each([
    [`${P}/Conv_1/Relu6`, 'the last conv layer'],
    [`${P}/block_1/se/mul`, 'the squeeze-excite gate'],
    [`${P}/expanded_conv/add`, 'a mid layer']
  ])('Grad-CAM at %s (%s) matches tf.grad through execute of the pre-softmax score (Pearson r >= 0.999)', async (layer) => {
    const ref = await tfjsGraphModel(GRAPH)
    const x = images(N, DIMS.slice(1), 13)
    const xt = tf.tensor(x, DIMS)
    const scores = (ref.execute({ input: xt }, SCORES) as tf.Tensor).dataSync()
    const targets = argmaxRows(scores, 5)
    // The runner-up class for the last image: a target other than top-1.
    const last = Array.from(scores.subarray(10, 15))
    targets[2] = last.indexOf([...last].sort((p, q) => q - p)[1])
    const want = targets.map((t, i) => {
      const xi = xt.slice(i, 1)
      const a = ref.execute({ input: xi }, layer) as tf.Tensor4D
      const g = tf.grad((v: tf.Tensor) => pickScores(ref.execute({ input: xi, [layer]: v }, SCORES) as tf.Tensor, [t]))(a) as tf.Tensor4D
      return { map: gradcamFromGrads(a, g)[0], shape: a.shape }
    })
    const scoresPath = join(dir, 'graph_scores.onnx')
    await writeScoresModel(GRAPH, scoresPath)
    const model = await LoadedModel.open(scoresPath)
    const runner = await CamRunner.create(model, { method: 'gradcam', layer })
    const out = await runner.run(Array.from({ length: N }, (_, i) => x.subarray(i * 3072, (i + 1) * 3072)), targets)
    await runner.release()
    out.forEach((r, i) => {
      expect(r.rawShape).toEqual(want[i].shape.slice(1, 3))
      const top = maxOf(want[i].map)
      // A class whose weighted sum is negative everywhere has an all-zero map: then ours must be zero too.
      if (top === 0) return expect(maxOf(r.raw)).toBeLessThanOrEqual(1e-6)
      expect(pearson(r.raw, want[i].map), `image ${i}`).toBeGreaterThanOrEqual(0.999)
      // Same scale too: the raw map is comparable across images.
      expect(maxAbsDiff(r.raw, want[i].map)).toBeLessThanOrEqual(1e-3 * top)
    })
    expect(want.filter((m) => maxOf(m.map) > 0).length, 'non-zero reference maps').toBeGreaterThanOrEqual(2)
  })
  it('on the model as it is (ending in Softmax), Grad-CAM differentiates the score before it and shows the model\'s own probabilities', async () => {
    const ref = await tfjsGraphModel(GRAPH)
    const layer = `${P}/Conv_1/Relu6`
    const x = images(N, DIMS.slice(1), 13)
    const xt = tf.tensor(x, DIMS)
    const targets = argmaxRows((ref.execute({ input: xt }, SCORES) as tf.Tensor).dataSync(), 5)
    const probs = (ref.execute({ input: xt }, `${P}/Predictions/Softmax`) as tf.Tensor).dataSync()
    const runner = await CamRunner.create(await LoadedModel.open(GRAPH), { method: 'gradcam', layer })
    const out = await runner.run(Array.from({ length: N }, (_, i) => x.subarray(i * 3072, (i + 1) * 3072)), targets)
    await runner.release()
    out.forEach((r, i) => {
      const xi = xt.slice(i, 1)
      const a = ref.execute({ input: xi }, layer) as tf.Tensor4D
      const g = tf.grad((v: tf.Tensor) => pickScores(ref.execute({ input: xi, [layer]: v }, SCORES) as tf.Tensor, [targets[i]]))(a) as tf.Tensor4D
      expect(pearson(r.raw, gradcamFromGrads(a, g)[0]), `image ${i}`).toBeGreaterThanOrEqual(0.999)
      expect(Math.abs(r.target.probability - probs[i * 5 + targets[i]])).toBeLessThanOrEqual(1e-4)
    })
  })
})

describe('GraphModel errors', () => {
  function copyGraph(edit: (nodes: { name: string; op: string }[]) => void): string {
    const d = tempDir()
    const json = JSON.parse(readFileSync(GRAPH, 'utf8')) as { modelTopology: { node: { name: string; op: string }[] } }
    edit(json.modelTopology.node)
    writeFileSync(join(d, 'model.json'), JSON.stringify(json))
    copyFileSync(fixture('tfjs', 'small_graph', 'group1-shard1of1.bin'), join(d, 'group1-shard1of1.bin'))
    return join(d, 'model.json')
  }

  it('an unsupported op names the op and the node', async () => {
    const path = copyGraph((nodes) => {
      nodes.find((n) => n.name === `${P}/block_1/se/Sigmoid`)!.op = 'Cumsum'
    })
    const err = await rejection(openModelFile(path))
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/Cumsum/)
    expect(err.message).toContain(`${P}/block_1/se/Sigmoid`)
    expect(err.details).toMatchObject({ node: `${P}/block_1/se/Sigmoid`, op: 'Cumsum' })
  })

  it('a node reading a tensor nobody defines is named', async () => {
    const path = copyGraph((nodes) => {
      const n = nodes.find((m) => m.name === `${P}/concat`) as unknown as { input: string[] }
      n.input[1] = `${P}/nowhere`
    })
    const err = await rejection(openModelFile(path))
    expect(err.message).toContain(`${P}/nowhere`)
  })
})
