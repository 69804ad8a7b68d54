import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveLayer } from '../../src/main/engine/model/layers'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { openModelFile } from '../../src/main/engine/formats'
import { readTfjsJson, readTfjsWeights } from '../../src/main/engine/formats/tfjs-files'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { graphOf } from '../../src/main/engine/onnx/model-file'
import { pearson } from '../cam-reference'
import { maxOf, minOf } from '../../src/shared/stats'
import { fixture, rejection, tempDir } from '../helpers'
import { argmaxRows, gradcamFromGrads, images, maxAbsDiff, pickScores, replay, runConverted, tfjsLayersModel, writeScoresModel } from './tfjs-reference'

/**
 * TensorFlow.js LayersModels (written by @tensorflow/tfjs itself, scripts/fixtures/make_tfjs_fixtures.ts)
 * converted to ONNX and run on onnxruntime, against tfjs's own loader, predict and tf.grad.
 */
const SMALL = fixture('tfjs', 'small_cnn', 'model.json')
const TEACHABLE = fixture('tfjs', 'teachable', 'teachable.json')
const N = 3
const DIMS = [N, 32, 32, 3]

let dir: string
beforeAll(async () => {
  dir = tempDir()
  await tf.setBackend('cpu')
})
afterAll(() => tf.disposeVariables())

describe('small CNN LayersModel', () => {
  it('opens as a tfjs LayersModel with NHWC input, NCHW conv activations and the Keras layer names', async () => {
    const opened = await openModelFile(SMALL)
    expect(opened.format).toBe('tfjs-layers')
    const g = graphOf(opened.model)
    expect(g.input.map((i) => i.name)).toEqual(['image'])
    expect(g.input[0].type?.tensorType?.shape?.dim?.slice(1).map((d) => Number(d.dimValue))).toEqual([32, 32, 3])
    const outputs = new Set(g.node.flatMap((n) => n.output))
    for (const name of ['conv1', 'conv1_bn', 'conv1_relu', 'smooth', 'dw1', 'sep1', 'add1', 'mul1', 'concat1', 'pool1', 'up1', 'conv3', 'flatten', 'fc1', 'reshape_logits', 'predictions']) {
      expect(outputs.has(name), name).toBe(true)
    }
    // The final softmax stays the last node, with the class scores as its own tensor before it.
    const last = g.node.at(-1)!
    expect(last.opType).toBe('Softmax')
    expect(last.input).toEqual(['reshape_logits'])
    expect(g.output.map((o) => o.name)).toEqual(['predictions'])
    const model = await LoadedModel.open(SMALL)
    expect(model.layout).toBe('NHWC')
    expect(model.shapes.get('conv3')).toEqual([2, 16, 8, 8])
    expect(model.shapes.get('mul1')).toEqual([2, 12, 8, 8])
    expect(resolveLayer(model.index, model.shapes, model.types, 'auto', SMALL)).toBe('conv3')
  })

  it('predicts what tfjs predict gives, and the scores before the softmax match a layer-by-layer tfjs replay (max abs diff <= 1e-4)', async () => {
    const ref = await tfjsLayersModel(SMALL)
    const x = images(N, DIMS.slice(1))
    const xt = tf.tensor(x, DIMS)
    const want = (ref.predict(xt) as tf.Tensor).dataSync()
    const wantScores = replay(ref, xt, 'reshape_logits').dataSync()
    const got = await runConverted(SMALL, x, DIMS, ['predictions', 'reshape_logits', 'conv3'])
    expect(maxAbsDiff(got.predictions, want)).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(got.reshape_logits, wantScores)).toBeLessThanOrEqual(1e-4)
    // The scores are not trivially close: the test could fail.
    expect(maxOf(wantScores) - minOf(wantScores)).toBeGreaterThan(0.1)
    // conv3 as tfjs computes it, NHWC, against our NCHW tensor.
    const conv3 = replay(ref, xt, 'conv3') as tf.Tensor4D
    const ours = tf.transpose(tf.tensor(got.conv3, [N, 16, 8, 8]), [0, 2, 3, 1]).dataSync()
    expect(maxAbsDiff(ours, conv3.dataSync())).toBeLessThanOrEqual(1e-4)
  })

  it.each([
    ['conv3', 'the last conv layer'],
    ['mul1', 'a mid layer'],
    ['smooth', 'the first block']
  ])('Grad-CAM at %s (%s) matches tf.grad Grad-CAM of the pre-softmax score (Pearson r >= 0.999)', async (layer) => {
    const ref = await tfjsLayersModel(SMALL)
    const x = images(N, DIMS.slice(1), 11)
    const xt = tf.tensor(x, DIMS)
    const scoresPath = join(dir, 'small_scores.onnx')
    await writeScoresModel(SMALL, scoresPath)
    const scores = replay(ref, xt, 'reshape_logits')
    const targets = argmaxRows(scores.dataSync(), 5)
    // Also a class other than the top one, whose map differs.
    targets[1] = (targets[1] + 1) % 5
    // One image per tf.grad: tfjs's resizeNearestNeighbor gradient is wrong for batches > 1.
    const want = targets.map((t, i) => {
      const xi = xt.slice(i, 1)
      const a = replay(ref, xi, layer) as tf.Tensor4D
      const g = tf.grad((v: tf.Tensor) => pickScores(replay(ref, xi, 'reshape_logits', { layer, value: v }), [t]))(a) as tf.Tensor4D
      return { map: gradcamFromGrads(a, g)[0], shape: a.shape }
    })

    const model = await LoadedModel.open(scoresPath)
    const runner = await CamRunner.create(model, { method: 'gradcam', layer })
    const out = await runner.run(Array.from({ length: N }, (_, i) => x.subarray(i * 32 * 32 * 3, (i + 1) * 32 * 32 * 3)), targets)
    await runner.release()
    out.forEach((r, i) => {
      expect(r.rawShape).toEqual(want[i].shape.slice(1, 3))
      expect(r.target.index).toBe(targets[i])
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
    const ref = await tfjsLayersModel(SMALL)
    const x = images(N, DIMS.slice(1), 11)
    const xt = tf.tensor(x, DIMS)
    const targets = argmaxRows(replay(ref, xt, 'reshape_logits').dataSync(), 5)
    const probs = (ref.predict(xt) as tf.Tensor).dataSync()
    const runner = await CamRunner.create(await LoadedModel.open(SMALL), { method: 'gradcam', layer: 'conv3' })
    const out = await runner.run(Array.from({ length: N }, (_, i) => x.subarray(i * 3072, (i + 1) * 3072)), targets)
    await runner.release()
    out.forEach((r, i) => {
      const xi = xt.slice(i, 1)
      const a = replay(ref, xi, 'conv3') as tf.Tensor4D
      const g = tf.grad((v: tf.Tensor) => pickScores(replay(ref, xi, 'reshape_logits', { layer: 'conv3', value: v }), [targets[i]]))(a) as tf.Tensor4D
      expect(pearson(r.raw, gradcamFromGrads(a, g)[0]), `image ${i}`).toBeGreaterThanOrEqual(0.999)
      expect(Math.abs(r.target.probability - probs[i * 5 + targets[i]])).toBeLessThanOrEqual(1e-4)
    })
  })

  it("Grad-CAM at conv1_relu, upstream of 'same' AveragePooling2D, matches finite differences of tfjs's forward pass", async () => {
    // tfjs's own avgPool gradient is wrong at 'same' borders (it divides by the full window), so the
    // reference here is a central difference of the class score along each channel, from predict alone.
    const ref = await tfjsLayersModel(SMALL)
    const x = images(2, DIMS.slice(1), 17)
    const scoresPath = join(dir, 'small_scores_fd.onnx')
    await writeScoresModel(SMALL, scoresPath)
    const model = await LoadedModel.open(scoresPath)
    const runner = await CamRunner.create(model, { method: 'gradcam', layer: 'conv1_relu' })
    for (let i = 0; i < 2; i++) {
      const xi = tf.tensor(x.subarray(i * 3072, (i + 1) * 3072), [1, 32, 32, 3])
      const target = argmaxRows(replay(ref, xi, 'reshape_logits').dataSync(), 5)[0]
      const a = replay(ref, xi, 'conv1_relu') as tf.Tensor4D
      const [, h, w, c] = a.shape
      const score = (v: tf.Tensor) => replay(ref, xi, 'reshape_logits', { layer: 'conv1_relu', value: v }).dataSync()[target]
      const eps = 1e-3
      const weights = Array.from({ length: c }, (_, k) => {
        const bump = tf.mul(tf.oneHot(tf.tensor1d([k], 'int32'), c).reshape([1, 1, 1, c]), eps)
        return (score(tf.add(a, bump)) - score(tf.sub(a, bump))) / (2 * eps * h * w)
      })
      const acts = a.dataSync()
      const want = Float32Array.from({ length: h * w }, (_, p) => Math.max(0, weights.reduce((s, wk, k) => s + wk * acts[p * c + k], 0)))
      const [r] = await runner.run([x.subarray(i * 3072, (i + 1) * 3072)], [target])
      expect(maxOf(want)).toBeGreaterThan(0)
      expect(pearson(r.raw, want), `image ${i}`).toBeGreaterThanOrEqual(0.999)
    }
    await runner.release()
  })
})

describe('Teachable-Machine-style nested model (quantized weights)', () => {
  it('loads a Sequential [Sequential [Functional base], Sequential head] and predicts what tfjs does', async () => {
    const opened = await openModelFile(TEACHABLE)
    expect(opened.format).toBe('tfjs-layers')
    const names = new Set(graphOf(opened.model).node.flatMap((n) => n.output))
    for (const n of ['Conv1', 'bn_Conv1', 'Conv1_relu', 'expanded_conv_depthwise', 'block_add', 'Conv_1', 'out_relu', 'dense_Dense1', 'dense_Dense2']) expect(names.has(n), n).toBe(true)
    // Dense with softmax: MatMul/Gemm, then a separate Softmax, so the scores exist as their own tensor.
    const last = graphOf(opened.model).node.at(-1)!
    expect(last.opType).toBe('Softmax')
    expect(last.input).toEqual(['dense_Dense2/MatMul'])
    const ref = await tfjsLayersModel(TEACHABLE)
    const x = images(N, DIMS.slice(1), 5)
    const want = (ref.predict(tf.tensor(x, DIMS)) as tf.Tensor).dataSync()
    const got = await runConverted(TEACHABLE, x, DIMS)
    expect(maxAbsDiff(got.dense_Dense2, want)).toBeLessThanOrEqual(1e-4)
  })

  it('runs Grad-CAM at the base model\'s last conv layer, matching tf.grad of the pre-softmax score', async () => {
    const ref = await tfjsLayersModel(TEACHABLE)
    const base = ((ref.layers[0] as tf.Sequential).layers[0]) as tf.LayersModel
    const [dense1, dense2] = (ref.layers[1] as tf.Sequential).layers
    const x = images(N, DIMS.slice(1), 9)
    const xt = tf.tensor(x, DIMS)
    const head = (features: tf.Tensor) => tf.matMul(dense1.apply(features) as tf.Tensor2D, dense2.getWeights()[0] as tf.Tensor2D)
    const scores = head(replay(base, xt, 'global_average_pooling2d_1'))
    const targets = argmaxRows(scores.dataSync(), 3)
    const a = replay(base, xt, 'out_relu') as tf.Tensor4D
    const g = tf.grad((v: tf.Tensor) => pickScores(head(replay(base, xt, 'global_average_pooling2d_1', { layer: 'out_relu', value: v })), targets))(a) as tf.Tensor4D
    const want = gradcamFromGrads(a, g)

    const scoresPath = join(dir, 'teachable_scores.onnx')
    await writeScoresModel(TEACHABLE, scoresPath)
    const model = await LoadedModel.open(scoresPath)
    expect(resolveLayer(model.index, model.shapes, model.types, 'auto', scoresPath)).toBe('out_relu')
    const runner = await CamRunner.create(model, { method: 'gradcam', layer: 'out_relu' })
    const out = await runner.run(Array.from({ length: N }, (_, i) => x.subarray(i * 3072, (i + 1) * 3072)), targets)
    await runner.release()
    out.forEach((r, i) => {
      expect(r.rawShape).toEqual([16, 16])
      expect(pearson(r.raw, want[i]), `image ${i}`).toBeGreaterThanOrEqual(0.999)
    })
    // And on the model as it is (final Softmax included): it opens and gives a map at the base's layer.
    const full = await CamRunner.create(await LoadedModel.open(TEACHABLE), { method: 'gradcam', layer: 'out_relu' })
    const [r0] = await full.run([x.subarray(0, 3072)], [-1])
    await full.release()
    expect(r0.map.length).toBe(32 * 32)
    expect(r0.target.probability).toBeGreaterThan(0)
  })

  it('dequantizes uint8, uint16 and float16 weights exactly as tfjs\'s loader does', async () => {
    const json = await readTfjsJson(TEACHABLE)
    const kinds = new Set(json.weightsManifest!.flatMap((g) => g.weights.map((w) => w.quantization?.dtype ?? 'none')))
    expect([...kinds].sort()).toEqual(['float16', 'none', 'uint16', 'uint8'])
    const ours = await readTfjsWeights(TEACHABLE, json)
    const ref = await tfjsLayersModel(TEACHABLE)
    const theirs = new Map<string, Float32Array>()
    const collect = (layers: tf.layers.Layer[]) => {
      for (const l of layers) {
        const nested = (l as unknown as tf.LayersModel).layers
        if (nested?.length) collect(nested)
        else for (const w of l.weights) theirs.set(w.originalName, w.read().dataSync() as Float32Array)
      }
    }
    collect(ref.layers)
    expect(theirs.size).toBe(ours.size)
    for (const [name, w] of ours) {
      const t = theirs.get(name)
      expect(t, name).toBeDefined()
      expect(maxAbsDiff(w.data, t!), name).toBeLessThanOrEqual(1e-6 * Math.max(1, maxOf(Array.from(t!, Math.abs))))
    }
  })
})

describe('errors name the problem and the file', () => {
  function copyModel(name: string, edit: (json: Record<string, unknown>) => void, withBin = true): string {
    const d = tempDir()
    const json = JSON.parse(readFileSync(SMALL, 'utf8')) as Record<string, unknown>
    edit(json)
    writeFileSync(join(d, name), JSON.stringify(json))
    if (withBin) copyFileSync(fixture('tfjs', 'small_cnn', 'group1-shard1of1.bin'), join(d, 'group1-shard1of1.bin'))
    return join(d, name)
  }

  it('an unsupported layer class names the class and the layer', async () => {
    const path = copyModel('model.json', (j) => {
      const layers = ((j.modelTopology as { config: { layers: { class_name: string; name: string }[] } }).config.layers)
      layers.find((l) => l.name === 'gate')!.class_name = 'LayerNormalization'
    })
    const err = await rejection(openModelFile(path))
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/gate/)
    expect(err.message).toMatch(/LayerNormalization/)
    expect(err.message).toMatch(/model\.json/)
  })

  it('a missing shard names the file', async () => {
    const path = copyModel('emotion.json', () => {}, false)
    const err = await rejection(openModelFile(path))
    expect(err.code).toBe('not-found')
    expect(err.message).toMatch(/group1-shard1of1\.bin/)
    expect(err.file).toMatch(/group1-shard1of1\.bin$/)
    expect(err.details).toMatchObject({ field: 'weightsManifest[0].paths[0]', constraint: 'missing', model: 'emotion.json', missing: ['group1-shard1of1.bin'] })
  })

  /** The fixture's one shard cut into three extension-less shards, as tfjs-converter names them; `keep` says which are written. */
  function splitShards(keep: number[]): string {
    const d = tempDir()
    const bin = readFileSync(fixture('tfjs', 'small_cnn', 'group1-shard1of1.bin'))
    const names = [1, 2, 3].map((i) => `group1-shard${i}of3`)
    const cut = [0, 7000, 14000, bin.length]
    for (const i of keep) writeFileSync(join(d, names[i]), bin.subarray(cut[i], cut[i + 1]))
    const json = JSON.parse(readFileSync(SMALL, 'utf8')) as { weightsManifest: { paths: string[] }[] }
    json.weightsManifest[0].paths = names
    writeFileSync(join(d, 'model.json'), JSON.stringify(json))
    return join(d, 'model.json')
  }

  it('extension-less shards (group1-shard1of3) open like .bin ones', async () => {
    expect((await openModelFile(splitShards([0, 1, 2]))).format).toBe('tfjs-layers')
  })

  it('several missing shards are named together, in one typed error', async () => {
    const err = await rejection(openModelFile(splitShards([1])))
    expect(err.code).toBe('not-found')
    expect(err.message).toMatch(/group1-shard1of3, group1-shard3of3 that model\.json lists are missing/)
    expect(err.details).toMatchObject({ field: 'weightsManifest[0].paths[0]', constraint: 'missing', model: 'model.json', missing: ['group1-shard1of3', 'group1-shard3of3'] })
  })

  it('a wrong-size shard names the file and both sizes', async () => {
    const path = copyModel('emotion.json', () => {})
    const bin = join(path, '..', 'group1-shard1of1.bin')
    writeFileSync(bin, readFileSync(bin).subarray(0, 1000))
    const err = await rejection(openModelFile(path))
    expect(err.code).toBe('bad-file')
    expect(err.message).toMatch(/group1-shard1of1\.bin \(1000 bytes\)/)
    expect(err.message).toMatch(/20356 bytes/)
  })

  it('any model.json name works (emotion.json beside its shard)', async () => {
    const path = copyModel('emotion.json', () => {})
    expect((await openModelFile(path)).format).toBe('tfjs-layers')
  })

  it('a .json file that is not a model is still refused clearly', async () => {
    const path = join(tempDir(), 'model.json')
    writeFileSync(path, '{"modelTopology": null}')
    const err = await rejection(openModelFile(path))
    expect(err.message).toMatch(/model\.json is not a TensorFlow\.js model/)
  })
})

describe('models built here with tfjs and saved by its own writer', () => {
  /** Saves through tfjs's own artifacts (model.json envelope + one shard), as tf.io.fileSystem would. */
  async function save(model: tf.LayersModel, name = 'model.json'): Promise<string> {
    const d = tempDir()
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        const data = Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData as ArrayBuffer | ArrayBuffer[]))
        writeFileSync(join(d, 'weights.bin'), data)
        const json = { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }
        writeFileSync(join(d, name), JSON.stringify(json))
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      })
    )
    return join(d, name)
  }

  it('a Sequential whose first layer is a Functional base, with the layers the fixtures leave out', async () => {
    const L = tf.layers
    const input = tf.input({ shape: [12, 10, 3], name: 'pixels' })
    const scaled = L.rescaling({ scale: 1 / 2, offset: -0.25, name: 'rescale' }).apply(input) as tf.SymbolicTensor
    const a = L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same', activation: 'hardSigmoid', name: 'ca' }).apply(scaled) as tf.SymbolicTensor
    const b = L.conv2d({ filters: 4, kernelSize: 1, strides: [2, 1], activation: 'swish', name: 'cb' }).apply(scaled) as tf.SymbolicTensor
    const sub = L.minimum({ name: 'min' }).apply([a, b]) as tf.SymbolicTensor
    const avg = L.average({ name: 'avg' }).apply([a, b, sub]) as tf.SymbolicTensor
    const mx = L.maximum({ name: 'max' }).apply([avg, sub]) as tf.SymbolicTensor
    const elu = L.activation({ activation: 'elu', name: 'elu' }).apply(mx) as tf.SymbolicTensor
    const pooled = L.globalMaxPooling2d({ name: 'gmp' }).apply(elu) as tf.SymbolicTensor
    const base = tf.model({ inputs: input, outputs: pooled, name: 'base' })
    const model = tf.sequential({ layers: [base, L.batchNormalization({ name: 'head_bn' }), L.dense({ units: 3, activation: 'softmax', name: 'head' })] })
    const bn = model.getLayer('head_bn')
    bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, tf.randomUniform(w.shape, 0.1, 0.9, 'float32', i))))
    const path = await save(model, 'classifier.json')
    const x = images(2, [12, 10, 3], 21)
    const want = (model.predict(tf.tensor(x, [2, 12, 10, 3])) as tf.Tensor).dataSync()
    const got = await runConverted(path, x, [2, 12, 10, 3])
    expect(maxAbsDiff(got.head, want)).toBeLessThanOrEqual(1e-4)
    const g = graphOf((await openModelFile(path)).model)
    // The implicit input of a Sequential is named after its first layer, as Keras does.
    expect(g.input[0].name).toBe('base_input')
    expect(g.node.at(-1)!.opType).toBe('Softmax')
  })
})

describe('file variants', () => {
  function copyDir(from: string, files: string[]): string {
    const d = tempDir()
    for (const f of files) copyFileSync(join(from, f), join(d, f))
    return d
  }

  it("takes the class labels from Teachable Machine's metadata.json beside the model", async () => {
    const d = copyDir(fixture('tfjs', 'teachable'), ['teachable.json', 'teachable.weights.bin'])
    writeFileSync(join(d, 'metadata.json'), JSON.stringify({ tmVersion: '2.4.10', packageName: '@teachablemachine/image', labels: ['cat', 'dog', 'bird'], imageSize: 32 }))
    const model = await LoadedModel.open(join(d, 'teachable.json'))
    expect(model.labels).toEqual(['cat', 'dog', 'bird'])
    expect(model.labelOf(2)).toBe('bird')
  })

  it("reads Keras' own model.json form (topology under model_config, weights named with the model's scope)", async () => {
    const d = copyDir(fixture('tfjs', 'small_cnn'), ['group1-shard1of1.bin'])
    const json = JSON.parse(readFileSync(SMALL, 'utf8')) as { modelTopology: unknown; weightsManifest: { weights: { name: string }[] }[]; format?: string }
    json.modelTopology = { keras_version: '2.15.0', backend: 'tensorflow', model_config: json.modelTopology }
    delete json.format
    for (const w of json.weightsManifest[0].weights) w.name = `small_cnn/${w.name}`
    writeFileSync(join(d, 'model.json'), JSON.stringify(json))
    const x = images(2, DIMS.slice(1), 4)
    const want = await runConverted(SMALL, x, [2, 32, 32, 3])
    const got = await runConverted(join(d, 'model.json'), x, [2, 32, 32, 3])
    expect(maxAbsDiff(got.predictions, want.predictions)).toBe(0)
  })
})
