import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { CamItem, ImagesAddResult, ModelSummary } from '../../src/shared/api'
import type { ApiEvent } from '../../src/shared/events'
import type { PreprocessSuggestion } from '../../src/shared/preprocess'
import { loadDisplayImage } from '../../src/main/engine/data/decode-image'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { demoClasses, fixture, rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'
import { images, maxAbsDiff, runConverted } from './tfjs-reference'

/**
 * Preprocessing is honest (#21 item 6): a TensorFlow.js model's own Rescaling / Normalization layers
 * at its input are read as its statement of the normalisation it takes (and computed exactly when
 * converted); the suggestion scores every normalisation on the user's images with the plain forward
 * pass, by accuracy where folders name classes (checked against cam.run's own predictions), else by
 * mean confidence; converted models show their outputs' real shapes.
 */
const L = tf.layers
const IMAGENET_MEAN = [0.485, 0.456, 0.406].map((m) => m * 255)
const IMAGENET_VAR = [0.229, 0.224, 0.225].map((s) => (s * 255) ** 2)

beforeAll(async () => {
  await tf.setBackend('cpu')
})

interface ModelJson {
  modelTopology: { config: { layers: { name: string; class_name: string; config: Record<string, unknown> }[] } }
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[]
}

/** Saves a tfjs model as model.json + weights.bin in a new folder (tfjs's own writer), optionally editing the JSON first. */
async function save(model: tf.LayersModel, edit?: (json: ModelJson, dir: string) => void): Promise<string> {
  const dir = tempDir()
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData as ArrayBuffer | ArrayBuffer[])))
      const json = { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] } as unknown as ModelJson
      edit?.(json, dir)
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json))
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    })
  )
  return join(dir, 'model.json')
}

/** A small Functional classifier: input [8, 8, 3] -> `before` layers -> conv -> global pool -> dense softmax. */
function classifier(before: (x: tf.SymbolicTensor) => tf.SymbolicTensor = (x) => x, name = 'base'): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'pixels' })
  const conv = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) }).apply(before(input)) as tf.SymbolicTensor
  const pooled = L.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor
  const out = L.dense({ units: 3, activation: 'softmax', name: 'head', kernelInitializer: tf.initializers.randomNormal({ seed: 5 }) }).apply(pooled) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: out, name })
}

const rescaling = (scale: number, offset: number, name = 'rescale') => (x: tf.SymbolicTensor) => L.rescaling({ scale, offset, name }).apply(x) as tf.SymbolicTensor

/** Makes the layer `name` (saved as an identity Rescaling) a Keras Normalization with this config. */
function asNormalization(json: ModelJson, name: string, config: Record<string, unknown>): void {
  const layer = json.modelTopology.config.layers.find((l) => l.name === name)!
  layer.class_name = 'Normalization'
  layer.config = { name, trainable: false, dtype: 'float32', axis: -1, invert: false, ...config }
}

const preprocessOf = async (path: string) => (await LoadedModel.open(path)).summary.preprocess

describe("a tfjs model's input layers state its normalisation", () => {
  it('Rescaling(1/255) at the input: the model takes raw 0..255 pixels, and a run feeds exactly the pixel bytes', async () => {
    // Nested as Teachable Machine nests it: a Sequential whose first layer is the Functional base.
    const model = tf.sequential({ layers: [classifier(rescaling(1 / 255, 0)), L.dense({ units: 2, name: 'top' })] })
    const path = await save(model)
    const loaded = await LoadedModel.open(path)
    const pre = loaded.summary.preprocess
    expect(pre.normalization).toBe('raw')
    expect(pre.source.normalization).toBe('layer')
    expect(pre.normalizationLayers).toEqual({ layers: [{ name: 'rescale', className: 'Rescaling' }], formula: 'x × 0.00392' })
    // What a run uses with nothing chosen: the bytes themselves, which the model's own layer scales.
    const run = modelPreprocess(loaded)
    expect(run.normalization).toBe('raw')
    const photo = fixture('images', 'animals', 'chelsea.png')
    const x = (await loadImageTensor(photo, run)).data
    const { rgb } = await loadDisplayImage(photo, run.size, run.resize)
    expect(Array.from(x)).toEqual(Array.from(rgb))
    // And the converted graph on those bytes is what tfjs predicts on them.
    const want = (model.predict(tf.tensor(x, [1, 8, 8, 3])) as tf.Tensor).dataSync()
    const got = await runConverted(path, x, [1, 8, 8, 3])
    expect(maxAbsDiff(Object.values(got)[0], want)).toBeLessThanOrEqual(1e-5)
  })

  it.each([
    ['Rescaling(1/127.5, -1) (MobileNet-style [-1, 1] inside)', 1 / 127.5, -1, 'raw', 'x × 0.00784 − 1'],
    ['Rescaling(2, -1) (takes [0, 1])', 2, -1, 'unit', 'x × 2 − 1']
  ])('%s', async (_, scale, offset, normalization, formula) => {
    const pre = await preprocessOf(await save(classifier(rescaling(scale, offset))))
    expect(pre).toMatchObject({ normalization, source: { normalization: 'layer' }, normalizationLayers: { formula } })
  })

  it("Rescaling then an ImageNet Normalization (Keras' EfficientNet) is read as one map, and converted exactly", async () => {
    const base = classifier((x) => rescaling(1, 0, 'norm')(rescaling(1 / 255, 0)(x)))
    const mean = [0.485, 0.456, 0.406]
    const variance = [0.229, 0.224, 0.225].map((s) => s * s)
    const path = await save(base, (json) => asNormalization(json, 'norm', { mean, variance }))
    const pre = await preprocessOf(path)
    expect(pre.normalization).toBe('raw')
    expect(pre.normalizationLayers?.layers).toEqual([
      { name: 'rescale', className: 'Rescaling' },
      { name: 'norm', className: 'Normalization' }
    ])
    expect(pre.normalizationLayers?.formula).toBe('x × [0.0171, 0.0175, 0.0174] + [-2.12, -2.04, -1.8]')
    // The converted Normalization: the model with the identity in its place, fed what makes its
    // Rescaling(1/255) give (x / 255 - mean) / std.
    const x = images(2, [8, 8, 3], 9).map((v) => (v + 1) * 127.5)
    const normalised = x.map((v, i) => ((v / 255 - mean[i % 3]) / Math.sqrt(variance[i % 3])) * 255)
    const withoutScaling = (base.predict(tf.tensor(normalised, [2, 8, 8, 3])) as tf.Tensor).dataSync()
    const got = await runConverted(path, x, [2, 8, 8, 3])
    expect(maxAbsDiff(Object.values(got)[0], withoutScaling)).toBeLessThanOrEqual(1e-5)
  })

  it('an adapted Normalization keeps its mean and variance as weights: read and converted from those', async () => {
    const base = classifier(rescaling(1, 0, 'norm'))
    const path = await save(base, (json, dir) => {
      asNormalization(json, 'norm', { mean: null, variance: null })
      const extra = new Float32Array([...IMAGENET_MEAN, ...IMAGENET_VAR, 100])
      const shard = join(dir, 'weights.bin')
      const bytes = readFileSync(shard)
      writeFileSync(shard, Buffer.concat([bytes, Buffer.from(extra.buffer)]))
      json.weightsManifest[0].weights.push(
        { name: 'norm/mean', shape: [3], dtype: 'float32' },
        { name: 'norm/variance', shape: [3], dtype: 'float32' },
        { name: 'norm/count', shape: [], dtype: 'float32' }
      )
    })
    expect(await preprocessOf(path)).toMatchObject({ normalization: 'raw', source: { normalization: 'layer' } })
    const x = images(1, [8, 8, 3], 2).map((v) => (v + 1) * 127.5)
    const normalised = x.map((v, i) => (v - IMAGENET_MEAN[i % 3]) / Math.sqrt(IMAGENET_VAR[i % 3]))
    const want = (base.predict(tf.tensor(normalised, [1, 8, 8, 3])) as tf.Tensor).dataSync()
    expect(maxAbsDiff(Object.values(await runConverted(path, x, [1, 8, 8, 3]))[0], want)).toBeLessThanOrEqual(1e-5)
  })

  it('a Normalization with [0, 1] statistics says the model takes 0..1', async () => {
    const path = await save(classifier(rescaling(1, 0, 'norm')), (json) => asNormalization(json, 'norm', { mean: [0.485, 0.456, 0.406], variance: [0.052, 0.05, 0.051] }))
    expect(await preprocessOf(path)).toMatchObject({ normalization: 'unit', source: { normalization: 'layer' } })
  })

  it.each([
    ['no scaling layer', classifier(), {}],
    ['a Rescaling that is not at the input', classifier((x) => rescaling(1 / 255, 0)(L.conv2d({ filters: 3, kernelSize: 1, name: 'first' }).apply(x) as tf.SymbolicTensor)), {}],
    ['an identity Normalization (mean 0, variance 1)', classifier(rescaling(1, 0, 'norm')), { mean: [0], variance: [1] }],
    ['a scale no pixel range fits (x 1000)', classifier(rescaling(1000, 0)), {}]
  ])('states nothing with %s: the normalisation stays an assumption', async (name, model, norm) => {
    const path = await save(model, (json) => {
      if (json.modelTopology.config.layers.some((l) => l.name === 'norm') && 'mean' in norm) asNormalization(json, 'norm', norm)
    })
    const pre = await preprocessOf(path)
    expect(pre.source.normalization, name).toBe('default')
    expect(pre.normalization).toBe('imagenet')
    expect(pre.normalizationLayers).toBeUndefined()
  })
})

describe('converted models show their outputs with real shapes', () => {
  it.each([
    ['a tfjs LayersModel', fixture('tfjs', 'small_cnn', 'model.json'), 'predictions'],
    ['a tfjs GraphModel', fixture('tfjs', 'small_graph', 'model.json'), 'MobilenetV2/Predictions/Softmax']
  ])('%s', async (_, path, name) => {
    const { summary } = await LoadedModel.open(path)
    expect(summary.outputs).toEqual([{ name, elemType: 'float', shape: ['batch', 5] }])
  })

  it('an ONNX model keeps the shape its file declares', async () => {
    const { summary } = await LoadedModel.open(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'))
    expect(summary.outputs).toEqual([{ name: 'logits', elemType: 'float', shape: ['batch', 10] }])
  })
})

describe('models.suggestPreprocess scores every normalisation on the user images', () => {
  const { service, events, until } = jobHarness()
  const DEMO = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
  const ended = (jobId: string) => until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled'))
  const classes = readdirSync(join(ROOT, 'resources', 'demo', 'images')).sort()

  async function openDemo(): Promise<ModelSummary> {
    return (await service.call('models.open', { path: DEMO })) as ModelSummary
  }
  async function add(paths: string[]): Promise<string[]> {
    return ((await service.call('images.add', { paths })) as ImagesAddResult).added.map((a) => a.id)
  }
  async function suggest(args: Record<string, unknown>): Promise<{ jobId: string; end: ApiEvent }> {
    const { jobId } = (await service.call('models.suggestPreprocess', args)) as { jobId: string }
    return { jobId, end: await ended(jobId) }
  }
  /** cam.run's own top-1 accuracy with this normalisation: the CAM runner's forward pass, not the scorer's. */
  async function camAccuracy(modelId: string, imageIds: string[], normalization: string, folders: Map<string, number>): Promise<number> {
    const { jobId } = (await service.call('cam.run', { modelId, imageIds, normalization, batch: 16 })) as { jobId: string }
    await ended(jobId)
    const items = events.filter((e) => e.type === 'job.item' && e.jobId === jobId).map((e) => (e as { item: CamItem }).item)
    expect(items).toHaveLength(imageIds.length)
    const right = items.filter((i) => i.ok && i.top5[0].index === folders.get(i.file.split(/[\\/]/).at(-2)!)).length
    return right / items.length
  }

  it('labelled folders: accuracy per candidate, exactly what cam.run predicts with each; the stated one is best', async () => {
    const model = await openDemo()
    const dir = demoClasses(classes, 3)
    const ids = await add([dir])
    expect(ids).toHaveLength(30)
    const { jobId, end } = await suggest({ modelId: model.id, imageIds: ids })
    expect(end.type).toBe('job.done')
    const r = (end as { result: PreprocessSuggestion }).result
    expect(r.by).toBe('accuracy')
    expect(r.scores.map((s) => s.normalization)).toEqual(['imagenet', 'unit', 'symmetric', 'raw'])
    for (const s of r.scores) expect(s).toMatchObject({ images: 30, labelled: 30 })
    // The demo states 0..1 in its metadata, and is right to: it wins on its own images.
    expect(model.preprocess).toMatchObject({ normalization: 'unit', source: { normalization: 'metadata' } })
    expect(r.best).toBe('unit')
    const accuracy = new Map(r.scores.map((s) => [s.normalization, s.accuracy!]))
    expect(accuracy.get('unit')).toBeGreaterThan(0.6)
    expect(accuracy.get('raw')).toBeLessThan(accuracy.get('unit')!)
    // The folders are the demo's label folders (T-shirt_top...): index by the model's own order.
    const folders = new Map(JSON.parse(model.metadata['metascope.label_folders']).map((f: string, i: number) => [f, i]))
    for (const n of ['unit', 'raw']) expect(await camAccuracy(model.id, ids, n, folders as Map<string, number>), n).toBeCloseTo(accuracy.get(n as 'unit')!, 10)
    // Progress went through every candidate.
    const progress = events.filter((e) => e.type === 'job.progress' && e.jobId === jobId) as { done: number; total: number; message?: string }[]
    expect(progress.at(-1)).toMatchObject({ done: 120, total: 120 })
    expect(new Set(progress.map((p) => p.message))).toEqual(new Set(['imagenet', 'unit', 'symmetric', 'raw']))
    // The suggestion changed nothing: the model still states what it stated.
    expect((await openDemo()).preprocess.normalization).toBe('unit')
  })

  it('unlabelled images: mean top-1 confidence and the most predicted class per candidate', async () => {
    const model = await openDemo()
    const ids = await add([fixture('images')])
    const { end } = await suggest({ modelId: model.id, imageIds: ids })
    const r = (end as { result: PreprocessSuggestion }).result
    expect(r.by).toBe('confidence')
    for (const s of r.scores) {
      expect(s).toMatchObject({ images: ids.length, labelled: 0, accuracy: null })
      expect(s.meanConfidence).toBeGreaterThan(0.1)
      expect(s.meanConfidence).toBeLessThanOrEqual(1)
      expect(model.labels).toContain(s.commonClass.label)
      expect(s.commonClass.share).toBeGreaterThan(0)
    }
    const best = r.scores.reduce((a, b) => (b.meanConfidence > a.meanConfidence ? b : a))
    expect(r.best).toBe(best.normalization)
  })

  it('an image that cannot be read is named; the others are scored', async () => {
    const model = await openDemo()
    const dir = demoClasses(['Bag', 'Coat'], 2)
    const ids = await add([dir])
    const broken = join(dir, 'Bag', readdirSync(join(dir, 'Bag'))[0])
    writeFileSync(broken, 'not a png any more')
    const { end } = await suggest({ modelId: model.id, imageIds: ids })
    const r = (end as { result: PreprocessSuggestion }).result
    expect(r.failed).toEqual([{ file: broken, error: expect.objectContaining({ file: broken }) }])
    expect(r.scores[0].images).toBe(3)
  })

  it('is cancelled between batches, and refuses no images or unknown ones', async () => {
    const model = await openDemo()
    const ids = await add([join(ROOT, 'resources', 'demo', 'images')])
    const { jobId } = (await service.call('models.suggestPreprocess', { modelId: model.id, imageIds: ids })) as { jobId: string }
    await service.call('jobs.cancel', { jobId })
    expect((await ended(jobId)).type).toBe('job.cancelled')
    expect((await rejection(service.call('models.suggestPreprocess', { modelId: model.id, imageIds: [] }))).code).toBe('invalid-arguments')
    expect((await rejection(service.call('models.suggestPreprocess', { modelId: model.id, imageIds: ['nope'] }))).code).toBe('not-found')
  })
})
