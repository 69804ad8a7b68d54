import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { ADAPT_DEFAULTS } from '../../src/shared/fewshot'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { adaptCommand } from '../../src/main/cli/fewshot-adapt-command'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { adaptModel, type AdaptResult } from '../../src/main/engine/fewshot/adapt/adapt'
import { clearEmbeddingCache, embeddingCacheStats } from '../../src/main/engine/fewshot/adapt/embed'
import { writeAdaptedModel } from '../../src/main/engine/fewshot/adapt/write'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { probabilitiesFrom } from '../../src/main/engine/model/scores'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { DataType, f32 } from '../../src/main/engine/onnx/tensor-data'
import { onnx } from 'onnx-proto'
import { fixture, rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'
import { maxOf } from '../../src/shared/stats'

const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const RESNET = fixture('models', 'mini_resnet.onnx')
const DEMO_CLASSES = ['Bag', 'Coat', 'Dress', 'Sandal', 'Trouser']

const sortedImages = (dir: string) => readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))

/** support/<class> and query/<class> from the demo's real Fashion-MNIST test images: 2 + 2 per class. */
function demoTree(root: string, classes = DEMO_CLASSES): { support: string; query: string } {
  const support = join(root, 'support')
  const query = join(root, 'query')
  for (const c of classes) {
    const files = sortedImages(join(DEMO_IMAGES, c))
    mkdirSync(join(support, c), { recursive: true })
    mkdirSync(join(query, c), { recursive: true })
    files.slice(0, 2).forEach((f) => copyFileSync(join(DEMO_IMAGES, c, f), join(support, c, f)))
    files.slice(2, 4).forEach((f) => copyFileSync(join(DEMO_IMAGES, c, f), join(query, c, f)))
  }
  return { support, query }
}

/**
 * A 3-way set from the real photos in test/fixtures/images (animals, objects, people). There are only
 * five photos, so each class gets two views of its photos: support the photos as they are (or a crop),
 * query the mirrored photos (or another crop).
 */
async function photoTree(root: string): Promise<{ support: string; query: string }> {
  const support = join(root, 'support')
  const query = join(root, 'query')
  const classes: Record<string, string[]> = { animals: ['cat.jpg', 'chelsea.png'], objects: ['coffee.png', 'rocket.jpg'], people: ['astronaut.png'] }
  for (const [c, files] of Object.entries(classes)) {
    mkdirSync(join(support, c), { recursive: true })
    mkdirSync(join(query, c), { recursive: true })
    for (const f of files) {
      const src = fixture('images', c, f)
      const stem = f.replace(/\.\w+$/, '')
      await sharp(src).png().toFile(join(support, c, `${stem}.png`))
      await sharp(src).flop().png().toFile(join(query, c, `${stem}-mirrored.png`))
      if (files.length === 1) {
        const { width, height } = await sharp(src).metadata()
        const crop = { width: Math.floor(width! * 0.8), height: Math.floor(height! * 0.8) }
        await sharp(src).extract({ left: 0, top: 0, ...crop }).png().toFile(join(support, c, `${stem}-crop.png`))
        await sharp(src).flop().extract({ left: width! - crop.width, top: height! - crop.height, ...crop }).png().toFile(join(query, c, `${stem}-crop-mirrored.png`))
      }
    }
  }
  return { support, query }
}

/** The written model's own probabilities for each query image, through its metadata's preprocessing. */
async function predictWith(path: string, files: string[]): Promise<{ model: LoadedModel; probs: Float64Array[] }> {
  const model = await LoadedModel.open(path)
  const pre = modelPreprocess(model)
  const session = await OrtSession.create(model.bytes, path)
  try {
    const per = model.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
    const data = new Float32Array(files.length * per)
    for (const [i, f] of files.entries()) data.set((await loadImageTensor(f, pre)).data, i * per)
    const out = await session.run({ [model.inputName]: floatTensor(data, model.inputDims(files.length)) })
    const logits = out[model.logitsName].data as Float32Array
    const n = model.numClasses
    return { model, probs: files.map((_, i) => probabilitiesFrom(logits.subarray(i * n, (i + 1) * n), model.score.activation)) }
  } finally {
    await session.release()
  }
}

/** Writes the adapted model, reopens it and checks labels, predictions (<= 1e-4) and Grad-CAM. */
async function checkWritten(result: AdaptResult, dir: string): Promise<LoadedModel> {
  const path = join(dir, 'adapted.onnx')
  await writeAdaptedModel(path, result)
  const { model, probs } = await predictWith(
    path,
    result.predictions.map((p) => p.file)
  )
  expect(model.numClasses).toBe(result.classes.length)
  expect(model.labels).toEqual(result.classes)
  expect(model.summary.outputs[0].shape[1]).toBe(result.classes.length)
  let maxDiff = 0
  result.predictions.forEach((p, i) => {
    const top = probs[i].indexOf(maxOf(probs[i]))
    expect(model.labelOf(top)).toBe(p.after.label)
    maxDiff = Math.max(maxDiff, Math.abs(probs[i][top] - p.after.probability))
  })
  expect(maxDiff).toBeLessThanOrEqual(1e-4)
  const meta = JSON.parse(model.summary.metadata['metascope.adapted_from'])
  expect(meta).toMatchObject({ file: result.model.file, sha256: result.modelSha256, method: result.method, steps: result.steps })
  const cam = await CamRunner.create(model, { method: 'gradcam', layer: 'auto' })
  try {
    const pre = modelPreprocess(model)
    const input = (await loadImageTensor(result.predictions[0].file, pre)).data
    const [map] = await cam.run([input], [-1])
    const [, h, w] = model.inputChw
    expect(map.map).toHaveLength(h * w)
    expect(map.map.every(Number.isFinite)).toBe(true)
    expect(result.classes).toContain(map.target.label)
  } finally {
    await cam.release()
  }
  return model
}

let root: string
let demo: { support: string; query: string }
let photos: { support: string; query: string }

beforeAll(async () => {
  root = tempDir('metascope-adapt-')
  demo = demoTree(join(root, 'demo'))
  photos = await photoTree(join(root, 'photos'))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

/**
 * Proto-MAML's starting head is ProtoNet's prototype head times one factor, 1 / mean |f|^2 of the support
 * features: the factor is the same for every weight and bias, and far below 1 on the demo's long
 * features (mean |f|^2 about 200), so the start is not saturated.
 */
function expectTempered(start: { weight: Float32Array; bias: Float32Array }, protos: { weight: Float32Array; bias: Float32Array }): void {
  const k = start.bias[0] / protos.bias[0]
  expect(k).toBeGreaterThan(0)
  expect(k).toBeLessThan(0.1)
  start.weight.forEach((v, i) => expect(v).toBeCloseTo(k * protos.weight[i], 5))
  start.bias.forEach((v, i) => expect(v / protos.bias[i]).toBeCloseTo(k, 6))
}

describe('fewshot adapt: an imported classifier to new classes', () => {
  it('adapts the demo Fashion-MNIST CNN with Proto-MAML; the written model reproduces the results and runs Grad-CAM', async () => {
    const r = await adaptModel({ modelPath: DEMO_MODEL, supportDir: demo.support, queryDir: demo.query })
    expect(r.method).toBe('protomaml')
    expect(r.head).toMatchObject({ weight: 'classifier.weight', bias: 'classifier.bias', featureDim: 64, numClasses: 10, transB: true })
    expect(r.classes).toEqual(DEMO_CLASSES)
    expect(r.predictions).toHaveLength(10)
    expect(r.supportLoss).toHaveLength(ADAPT_DEFAULTS.steps)
    // The folder names are the model's labels, so "before" is scored too.
    expect(r.accuracyBefore).not.toBeNull()
    expect(r.accuracyAfter).toBeGreaterThan(1 / 5)
    console.log(`demo 5-way 2-shot protomaml: accuracy before ${r.accuracyBefore} after ${r.accuracyAfter}; ms ${JSON.stringify(r.ms)}`)
    const written = await checkWritten(r, join(root, 'demo'))
    // The demo's preprocessing (unit range) travels with the adapted model.
    expect(written.summary.metadata['metascope.normalization']).toBe('unit')
    expect(written.summary.metadata['metascope.test_accuracy']).toBeUndefined()
  })

  it('adapts the ResNet-style fixture (imagenet preprocessing, 3x64x64) on real photos, 3-way', async () => {
    const r = await adaptModel({ modelPath: RESNET, supportDir: photos.support, queryDir: photos.query, steps: 5 })
    expect(r.head).toMatchObject({ node: expect.objectContaining({ opType: 'Gemm' }), featureDim: 64 })
    expect(r.classes).toEqual(['animals', 'objects', 'people'])
    expect(r.accuracyBefore).toBeNull()
    expect(r.predictions.every((p) => p.before.probability > 0 && p.before.probability <= 1)).toBe(true)
    console.log(`mini_resnet 3-way 2-shot: accuracy after ${r.accuracyAfter}; ms ${JSON.stringify(r.ms)}`)
    await checkWritten(r, join(root, 'photos'))
  })

  it('runs every head-only method and computes the embeddings only once', async () => {
    clearEmbeddingCache()
    const base = { modelPath: DEMO_MODEL, supportDir: demo.support, queryDir: demo.query }
    const first = await adaptModel({ ...base, steps: 10 })
    expect(first.embeddings).toEqual({ computed: 20, reused: 0 })
    for (const method of ['anil', 'finetune', 'protonet', 'protomaml'] as const) {
      const r = await adaptModel({ ...base, method, steps: 3 })
      expect(r.embeddings).toEqual({ computed: 0, reused: 20 })
      expect(r.accuracyAfter).toBeGreaterThan(1 / 5)
      expect(r.adapted.weight.every(Number.isFinite)).toBe(true)
      // ProtoNet's head is the prototypes: no step taken, nothing trained, whatever steps were asked for.
      const trains = method !== 'protonet'
      expect({ steps: r.steps, trained: r.trainedParameters }).toEqual(trains ? { steps: 3, trained: (r.head.featureDim + 1) * 5 } : { steps: 0, trained: 0 })
    }
    expect(embeddingCacheStats()).toMatchObject({ computed: 20, reused: 80 })
    // Proto-MAML starts at the prototypical network's linear form divided by the support's mean |f|^2.
    const zero = await adaptModel({ ...base, steps: 0 })
    const protonet = await adaptModel({ ...base, method: 'protonet' })
    expectTempered(zero.adapted, protonet.adapted)
    const refused = await rejection(adaptModel({ ...base, method: 'maml' }))
    expect(refused.code).toBe('unsupported')
    expect(refused.message).toMatch(/The method maml adapts every weight.*head-only methods protomaml, anil, protonet, finetune/)
    expect(refused.details).toMatchObject({ field: 'method', constraint: 'head-only' })
  })

  it('adapts with unequal shots per class (prototypes are true class means)', async () => {
    const tree = demoTree(join(root, 'unequal'), ['Bag', 'Trouser', 'Sandal'])
    copyFileSync(join(DEMO_IMAGES, 'Bag', sortedImages(join(DEMO_IMAGES, 'Bag'))[3]), join(tree.support, 'Bag', 'extra.png'))
    const r = await adaptModel({ modelPath: DEMO_MODEL, supportDir: tree.support, queryDir: tree.query })
    expect(r.supportCounts).toEqual([3, 2, 2])
    expect(r.accuracyAfter).toBeGreaterThan(1 / 3)
    const protonet = await adaptModel({ modelPath: DEMO_MODEL, supportDir: tree.support, queryDir: tree.query, method: 'protonet' })
    // With no steps, Proto-MAML's head is the prototype head (true class means) at its temperature.
    const zero = await adaptModel({ modelPath: DEMO_MODEL, supportDir: tree.support, queryDir: tree.query, steps: 0 })
    expectTempered(zero.adapted, protonet.adapted)
  })

  it('the CLI writes model.onnx and predictions.json and prints one JSON line', async () => {
    const out = join(root, 'cli-out')
    const lines: string[] = []
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    })
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      const code = await adaptCommand(['--model', DEMO_MODEL, '--support', demo.support, '--query', demo.query, '--out', out, '--steps', '5', '--method', 'finetune'])
      expect(code).toBe(0)
    } finally {
      spy.mockRestore()
      err.mockRestore()
    }
    expect(lines).toHaveLength(1)
    const summary = JSON.parse(lines[0])
    expect(summary).toMatchObject({ method: 'finetune', steps: 5, classes: DEMO_CLASSES, backend: 'onnxruntime' })
    expect(existsSync(join(out, 'model.onnx'))).toBe(true)
    const predictions = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8'))
    expect(predictions.predictions).toHaveLength(10)
    expect(predictions.predictions[0]).toMatchObject({ trueClass: 'Bag', before: { label: expect.any(String) }, after: { label: expect.any(String) } })
    expect(typeof predictions.ms.adaptation).toBe('number')
    expect((await LoadedModel.open(join(out, 'model.onnx'))).labels).toEqual(DEMO_CLASSES)
  })

  it('measures the adaptation of a 5-way 5-shot set once the embeddings are cached', async () => {
    // Five support images per class: the demo's four and the first one mirrored; the query set mirrors the other three.
    const support = join(root, 'five', 'support')
    const query = join(root, 'five', 'query')
    for (const c of DEMO_CLASSES) {
      mkdirSync(join(support, c), { recursive: true })
      mkdirSync(join(query, c), { recursive: true })
      const files = sortedImages(join(DEMO_IMAGES, c))
      files.forEach((f) => copyFileSync(join(DEMO_IMAGES, c, f), join(support, c, f)))
      await sharp(join(DEMO_IMAGES, c, files[0])).flop().png().toFile(join(support, c, 'mirrored-0.png'))
      for (const f of files.slice(1)) await sharp(join(DEMO_IMAGES, c, f)).flop().png().toFile(join(query, c, `mirrored-${f}`))
    }
    const opts = { modelPath: DEMO_MODEL, supportDir: support, queryDir: query, steps: 10 }
    await adaptModel(opts)
    const r = await adaptModel(opts)
    expect(r.embeddings.computed).toBe(0)
    expect(r.supportCounts).toEqual([5, 5, 5, 5, 5])
    console.log(
      `5-way 5-shot protomaml, 10 steps, 15 queries, cached embeddings: adaptation ${r.ms.adaptation.toFixed(1)} ms (graph build + session + run), embeddings ${r.ms.embeddings.toFixed(1)} ms (cache lookups); accuracy ${r.accuracyAfter}`
    )
  })
})

/** A classifier whose output is a pooled convolution: no Gemm or MatMul head. */
function headlessModel(path: string): void {
  const base = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'headless', node: [], initializer: [], input: [], output: [] }
  })
  const b = new GraphBuilder(base, 'hl')
  b.addInput('image', DataType.FLOAT, ['batch', 3, 16, 16])
  b.namedConstant('conv.weight', f32(new Float32Array(4 * 3 * 3 * 3).fill(0.1), [4, 3, 3, 3]))
  const conv = b.op('Conv', ['image', 'conv.weight'], { pads: [1, 1, 1, 1] })
  const pooled = b.op('GlobalAveragePool', [conv])
  b.node('Flatten', [pooled], { axis: 1 }, ['scores'])
  b.setOutputs(['scores'])
  writeFileSync(path, b.encode())
}

/** Conv -> pool -> Flatten -> MatMul [C, N] -> Add bias -> Softmax: a head written as MatMul + Add, probabilities out. */
function matmulSoftmaxModel(path: string): void {
  const base = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'mm', node: [], initializer: [], input: [], output: [] }
  })
  const b = new GraphBuilder(base, 'mm')
  b.addInput('image', DataType.FLOAT, ['batch', 3, 16, 16])
  b.namedConstant('conv.weight', f32(Float32Array.from({ length: 8 * 27 }, (_, i) => Math.sin(i * 1.7) * 0.3), [8, 3, 3, 3]))
  const conv = b.op('Relu', [b.op('Conv', ['image', 'conv.weight'], { pads: [1, 1, 1, 1] })])
  const flat = b.op('Flatten', [b.op('GlobalAveragePool', [conv])], { axis: 1 })
  b.namedConstant('fc.w', f32(Float32Array.from({ length: 8 * 4 }, (_, i) => Math.cos(i * 0.9)), [8, 4]))
  b.namedConstant('fc.b', f32([0.1, -0.2, 0.3, 0], [4]))
  const scores = b.op('Add', [b.op('MatMul', [flat, 'fc.w']), 'fc.b'])
  b.node('Softmax', [scores], { axis: 1 }, ['probs'])
  b.setOutputs(['probs'])
  writeFileSync(path, b.encode())
}

describe('fewshot adapt: other head forms', () => {
  it('finds a MatMul + Add head behind a Softmax; "before" is the model\'s own probability', async () => {
    const path = join(root, 'matmul.onnx')
    matmulSoftmaxModel(path)
    const r = await adaptModel({ modelPath: path, supportDir: photos.support, queryDir: photos.query, steps: 3 })
    expect(r.head).toMatchObject({ weight: 'fc.w', bias: 'fc.b', transB: false, featureDim: 8, numClasses: 4, activation: 'softmax' })
    const model = await LoadedModel.open(path)
    const session = await OrtSession.create(model.bytes, path)
    const first = r.predictions[0]
    const input = (await loadImageTensor(first.file, modelPreprocess(model))).data
    const probs = (await session.run({ image: floatTensor(input, [1, 3, 16, 16]) })).probs.data as Float32Array
    await session.release()
    expect(first.before.probability).toBeCloseTo(maxOf(probs), 5)
    await checkWritten(r, join(root, 'photos'))
  })
})

describe('fewshot adapt: bad inputs', () => {
  it('a model without a recognisable head says what it looked for and how to name one', async () => {
    const path = join(root, 'headless.onnx')
    headlessModel(path)
    const err = await rejection(adaptModel({ modelPath: path, supportDir: demo.support, queryDir: demo.query }))
    expect(err.code).toBe('unsupported')
    expect(err.message).toContain('Found no classifier head in headless.onnx')
    expect(err.message).toContain('a final Gemm or MatMul')
    expect(err.message).toContain("Name the head's node or weight")
    expect(err.details).toMatchObject({ field: 'head', constraint: 'not-found' })
    expect(err.message).toContain('GlobalAveragePool')
  })

  it('--head naming a node that does not exist', async () => {
    const err = await rejection(adaptModel({ modelPath: DEMO_MODEL, supportDir: demo.support, queryDir: demo.query, head: 'no_such_layer' }))
    expect(err.code).toBe('not-found')
    expect(err.message).toContain('fashion_cnn.onnx has no node or weight named "no_such_layer"')
    expect(err.message).toContain('/classifier/Gemm')
    // Named by its weight, the real head works.
    const ok = await adaptModel({ modelPath: DEMO_MODEL, supportDir: demo.support, queryDir: demo.query, head: 'classifier.weight', steps: 1 })
    expect(ok.head.node.name).toBe('/classifier/Gemm')
  })

  it('a class with too few images, and an unreadable image, are named', async () => {
    const tree = demoTree(join(root, 'short'), ['Bag', 'Coat'])
    for (const f of readdirSync(join(tree.support, 'Coat'))) rmSync(join(tree.support, 'Coat', f))
    writeFileSync(join(tree.support, 'Coat', 'broken.png'), 'not a png')
    const err = await rejection(adaptModel({ modelPath: DEMO_MODEL, supportDir: tree.support, queryDir: tree.query }))
    expect(err.code).toBe('out-of-range')
    expect(err.message).toContain('class "Coat" has 0')
    expect(err.message).toMatch(/could not be read: Coat\/broken\.png is not a readable image/)
    // Where the class still has enough images, the unreadable one is skipped with a warning.
    copyFileSync(join(demo.support, 'Coat', readdirSync(join(demo.support, 'Coat'))[0]), join(tree.support, 'Coat', 'ok.png'))
    const r = await adaptModel({ modelPath: DEMO_MODEL, supportDir: tree.support, queryDir: tree.query, steps: 1 })
    expect(r.supportCounts).toEqual([2, 1])
    expect(r.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^Coat\/broken\.png is not a readable image/)])
  })

  it('a single class, and support and query folders with different classes', async () => {
    const one = demoTree(join(root, 'one'), ['Bag'])
    const single = await rejection(adaptModel({ modelPath: DEMO_MODEL, supportDir: one.support, queryDir: one.query }))
    expect(single.message).toMatch(/has only one class sub-folder \(Bag\); few-shot needs at least 2 classes/)
    const a = demoTree(join(root, 'mismatch-a'), ['Bag', 'Coat'])
    const b = demoTree(join(root, 'mismatch-b'), ['Bag', 'Dress'])
    const mismatch = await rejection(adaptModel({ modelPath: DEMO_MODEL, supportDir: a.support, queryDir: b.query }))
    expect(mismatch.message).toContain('must have the same class sub-folders; missing from the query folder: Coat; missing from the support folder: Dress')
  })
})

describe('fewshot.adapt as a job', () => {
  it('adapts, streams progress, writes the model and predictions, and the written model opens', async () => {
    const { service, events, until } = jobHarness()
    const { support, query } = demoTree(tempDir())
    const out = join(tempDir(), 'adapted')
    const { jobId } = (await service.call('fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: support, queryDir: query, out })) as { jobId: string }
    const end = (await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)) as { type: string; result: { adaptedModel: string; accuracyAfter: number; classes: string[]; predictions: unknown[] } }
    expect(end.type).toBe('job.done')
    expect(events.some((e) => e.type === 'job.progress' && e.jobId === jobId && e.phase === 'embeddings')).toBe(true)
    expect(end.result.adaptedModel).toBe(join(out, 'model.onnx'))
    expect(end.result.classes).toEqual(DEMO_CLASSES)
    expect(end.result.predictions).toHaveLength(10)
    expect(JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')).accuracyAfter).toBe(end.result.accuracyAfter)
    const summary = (await service.call('models.open', { path: end.result.adaptedModel })) as { labels: string[] }
    expect(summary.labels).toEqual(DEMO_CLASSES)
  })

  it('fails the call for a bad method and the job with a clear message for a single class', async () => {
    const { service, until } = jobHarness()
    await expect(service.call('fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: 'a', queryDir: 'b', method: 'maml' })).rejects.toThrow(/method/)
    const { support, query } = demoTree(tempDir(), ['Bag'])
    const { jobId } = (await service.call('fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: support, queryDir: query })) as { jobId: string }
    const end = (await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)) as { type: string; error: { message: string } }
    expect(end.type).toBe('job.failed')
    // Support and query folders are read together; either may be the one reported.
    expect(end.error.message).toMatch(/(support|query) has only one class sub-folder \(Bag\); few-shot needs at least 2 classes/)
  })
})
