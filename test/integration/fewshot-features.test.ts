import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { onnx } from 'onnx-proto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { featuresCommand } from '../../src/main/cli/fewshot-features-command'
import { adaptCommand } from '../../src/main/cli/fewshot-adapt-command'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { adaptModel } from '../../src/main/engine/fewshot/adapt/adapt'
import { clearEmbeddingCache } from '../../src/main/engine/fewshot/adapt/embed'
import { predictionsJson } from '../../src/main/engine/fewshot/adapt/report'
import { featureCandidates, resolveFeatures } from '../../src/main/engine/fewshot/adapt/features'
import { findHead, headValues } from '../../src/main/engine/fewshot/adapt/head'
import { listFeatures, suggestFeatures } from '../../src/main/engine/fewshot/adapt/suggest-features'
import { writeAdaptedModel } from '../../src/main/engine/fewshot/adapt/write'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { DataType, f32 } from '../../src/main/engine/onnx/tensor-data'
import { AdaptReport } from '../../src/shared/fewshot'
import { FeatureSuggestion } from '../../src/shared/fewshot-features'
import { maxOf, minOf } from '../../src/shared/stats'
import { fixture, rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
/** GAP -> Gemm(16, 32) -> ReLU -> Gemm(32, 4), 3x8x8 input: scripts/fixtures/make_dense_stack.py. */
const DENSE_STACK = fixture('models', 'dense_stack.onnx')
const POOLED = '/Flatten_output_0'
const RELU = '/classifier/classifier.1/Relu_output_0'

const sorted = (dir: string) => readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
/** Four demo classes (real Fashion-MNIST images), their first three images as support and the fourth as query. */
const CLASSES = sorted(DEMO_IMAGES).slice(0, 4)
const sets = (support = 3) => ({
  classes: CLASSES.map((name) => {
    const files = sorted(join(DEMO_IMAGES, name)).map((f) => join(DEMO_IMAGES, name, f))
    return { name, support: files.slice(0, support), query: files.slice(3, 4) }
  })
})

/** Each image's values at each tensor, from a session of the model with those tensors as outputs (not the engine's embedder). */
async function tensorsOf(path: string, tensors: string[], files: string[]): Promise<Float32Array[][]> {
  const model = await LoadedModel.open(path)
  const b = new GraphBuilder(model.model)
  b.setOutputs(tensors)
  const session = await OrtSession.create(b.encode(), path)
  try {
    const pre = modelPreprocess(model)
    const out: Float32Array[][] = tensors.map(() => [])
    for (const f of files) {
      const res = await session.run({ [model.inputName]: floatTensor((await loadImageTensor(f, pre)).data, model.inputDims(1)) })
      tensors.forEach((t, i) => out[i].push(Float32Array.from(res[t].data as Float32Array)))
    }
    return out
  } finally {
    await session.release()
  }
}

/** Leave-one-out nearest centroid by brute force: every centroid recomputed from the rows that remain. */
function looAccuracy(rows: Float32Array[], labels: number[]): number {
  const ways = maxOf(labels) + 1
  let correct = 0
  rows.forEach((x, i) => {
    const dists = Array.from({ length: ways }, (_, c) => {
      const members = rows.filter((_, j) => j !== i && labels[j] === c)
      const mean = x.map((_, k) => members.reduce((s, m) => s + m[k], 0) / members.length)
      return Math.sqrt(x.reduce((s, v, k) => s + (v - mean[k]) * (v - mean[k]), 0))
    })
    if (dists.indexOf(minOf(dists)) === labels[i]) correct++
  })
  return correct / rows.length
}

/**
 * image -> Conv -> ReLU -> GAP -> Flatten `feat` [B, 8]; ReduceMean over the batch `batch_mean` [8]
 * (a tensor without a batch axis), added back; Gemm -> scores. A model where a computed tensor has
 * no batch axis.
 */
function batchMeanModel(path: string, headReadsIt = false): void {
  const base = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'bm', node: [], initializer: [], input: [], output: [] } })
  const b = new GraphBuilder(base, 'bm')
  b.addInput('image', DataType.FLOAT, ['batch', 3, 8, 8])
  b.namedConstant('conv.weight', f32(Float32Array.from({ length: 8 * 27 }, (_, i) => Math.sin(i * 1.3) * 0.3), [8, 3, 3, 3]))
  const conv = b.op('Relu', [b.op('Conv', ['image', 'conv.weight'], { pads: [1, 1, 1, 1] })])
  b.node('Flatten', [b.op('GlobalAveragePool', [conv])], { axis: 1 }, ['feat'])
  b.node('ReduceMean', ['feat'], { axes: [0], keepdims: 0 }, ['batch_mean'])
  // headReadsIt: the Gemm reads the batch mean itself, [1, 8] (the head's input has no batch axis).
  const mixed = headReadsIt ? b.node('Unsqueeze', ['batch_mean', b.constI64([0])], {}, ['head_in'])[0] : b.op('Add', ['feat', 'batch_mean'])
  b.namedConstant('fc.w', f32(Float32Array.from({ length: 3 * 8 }, (_, i) => Math.cos(i)), [3, 8]))
  b.namedConstant('fc.b', f32([0, 0.1, -0.1], [3]))
  b.node('Gemm', [mixed, 'fc.w', 'fc.b'], { transB: 1 }, ['scores'])
  b.setOutputs(['scores'])
  writeFileSync(path, b.encode())
}

let root: string
beforeAll(() => {
  root = tempDir('metascope-features-')
  clearEmbeddingCache()
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('feature candidates and the automatic choice', () => {
  it('the demo model (GAP -> one Linear): one candidate, the head input, automatic', async () => {
    const model = await LoadedModel.open(DEMO_MODEL)
    const head = findHead(model)
    const candidates = featureCandidates(model, head)
    expect(candidates).toEqual([
      { tensor: head.features, width: 64, kind: 'pooled', follows: { op: 'GlobalAveragePool', node: '/pool/GlobalAveragePool' }, feeds: '/classifier/Gemm', headInput: true, auto: true, flatten: false }
    ])
    expect(resolveFeatures(model, head).tensor).toBe(head.features)
  })

  it('a Dense stack (GAP -> Gemm 32 -> ReLU -> Gemm): the pooled 16-d output is automatic, the last layer\'s 32-d input a candidate', async () => {
    const listed = await listFeatures({ modelPath: DENSE_STACK })
    expect(listed.head).toEqual({ node: '/classifier/classifier.3/Gemm', op: 'Gemm', width: 32, classes: 4 })
    expect(listed.candidates).toEqual([
      { tensor: POOLED, width: 16, kind: 'pooled', follows: { op: 'GlobalAveragePool', node: '/pool/GlobalAveragePool' }, feeds: '/classifier/classifier.0/Gemm', headInput: false, auto: true },
      { tensor: RELU, width: 32, kind: 'dense-input', follows: { op: 'Relu', node: '/classifier/classifier.1/Relu' }, feeds: '/classifier/classifier.3/Gemm', headInput: true, auto: false }
    ])
  })

  it('a Flatten of the last spatial map (VGG-style) and a tfjs Keras model (GlobalAveragePooling2D -> Dense -> Dense)', async () => {
    const vgg = await listFeatures({ modelPath: fixture('models', 'mini_vgg_bn.onnx') })
    expect(vgg.candidates.map((c) => [c.tensor, c.width, c.kind, c.auto])).toEqual([
      ['/Flatten_output_0', 32 * 7 * 7, 'flattened', true],
      ['/classifier/classifier.1/Relu_output_0', 32, 'dense-input', false]
    ])
    const tfjs = await listFeatures({ modelPath: fixture('tfjs', 'teachable', 'teachable.json') })
    const auto = tfjs.candidates.find((c) => c.auto)!
    expect(auto).toMatchObject({ kind: 'pooled', headInput: false, follows: { op: 'GlobalAveragePool' } })
    expect(tfjs.candidates.filter((c) => c.auto)).toHaveLength(1)
    expect(tfjs.candidates.at(-1)).toMatchObject({ headInput: true, kind: 'dense-input' })
  })
})

describe('a chosen feature tensor that cannot be used', () => {
  const base = () => ({ modelPath: DENSE_STACK, sets: sets(2) })

  it('an unknown name, a weight, and a spatial map are refused on the features field, naming the model and the candidates', async () => {
    const unknown = await rejection(adaptModel({ ...base(), features: 'no_such_tensor' }))
    expect(unknown.code).toBe('not-found')
    expect(unknown.message).toContain('dense_stack.onnx: the features tensor "no_such_tensor" is not a tensor of the model')
    expect(unknown.message).toContain(`${POOLED} (16, after GlobalAveragePool /pool/GlobalAveragePool)`)
    expect(unknown.details).toMatchObject({ field: 'features', constraint: 'unknown', candidates: [POOLED, RELU] })
    const weight = await rejection(adaptModel({ ...base(), features: 'classifier.0.weight' }))
    expect(weight.details).toMatchObject({ field: 'features', constraint: 'no-batch-axis' })
    const map = await rejection(adaptModel({ ...base(), features: '/features/features.3/Relu_output_0' }))
    expect(map.details).toMatchObject({ field: 'features', constraint: 'not-flat', shape: [2, 16, 4, 4] })
    expect(map.message).toContain('a spatial map needs pooling first')
  })

  it('a computed tensor without a batch axis gets a clear error; its neighbour with one adapts', async () => {
    const path = join(root, 'batch_mean.onnx')
    batchMeanModel(path)
    const err = await rejection(adaptModel({ modelPath: path, sets: sets(2), features: 'batch_mean' }))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toMatch(/batch_mean\.onnx: the features tensor "batch_mean" has shape \[8\] at a batch of 2: it has no batch axis matching the model input's/)
    expect(err.details).toMatchObject({ field: 'features', constraint: 'no-batch-axis', model: 'batch_mean.onnx' })
    const ok = await adaptModel({ modelPath: path, sets: sets(2), features: 'feat', steps: 1 })
    expect(ok.features).toMatchObject({ tensor: 'feat', width: 8 })
  })

  it('a head that reads a tensor without a batch axis: no candidate is listed, and adapting is refused naming it (not mis-embedded)', async () => {
    const path = join(root, 'head_batch_mean.onnx')
    batchMeanModel(path, true)
    expect((await listFeatures({ modelPath: path })).candidates).toEqual([])
    for (const features of [undefined, 'head_in']) {
      const err = await rejection(adaptModel({ modelPath: path, sets: sets(2), features, steps: 1 }))
      expect(err.code).toBe('invalid-arguments')
      expect(err.message).toContain('head_batch_mean.onnx: its last layer')
      expect(err.message).toContain('reads head_in, of shape [1, 8] at a batch of 2: it has no batch axis')
      expect(err.details).toMatchObject({ field: 'features', constraint: 'head-no-batch-axis', value: 'head_in', model: 'head_batch_mean.onnx' })
    }
    expect((await rejection(adaptModel({ modelPath: path, sets: sets(2), mode: 'add', steps: 0 }))).details).toMatchObject({ constraint: 'head-no-batch-axis' })
  })

  it('through the API: the schema takes features, the job fails with the field', async () => {
    const { service, until } = jobHarness()
    await expect(service.call('fewshot.adapt', { ...base(), features: '' })).rejects.toMatchObject({ details: { field: 'features' } })
    const { jobId } = (await service.call('fewshot.adapt', { ...base(), features: 'classifier.0.weight' })) as { jobId: string }
    const end = (await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)) as { type: string; error: { details: Record<string, unknown> } }
    expect(end.type).toBe('job.failed')
    expect(end.error.details).toMatchObject({ field: 'features', constraint: 'no-batch-axis' })
  })
})

describe('suggest: ranking the candidates by leave-one-out accuracy on the support set', () => {
  it('ranks every candidate as a brute-force leave-one-out on independently computed features does, from one embedding pass', async () => {
    clearEmbeddingCache()
    const s = sets(3)
    const r = await suggestFeatures({ modelPath: DENSE_STACK, sets: s })
    expect(FeatureSuggestion.safeParse(r).success).toBe(true)
    expect(r).toMatchObject({ classes: CLASSES, supportCounts: [3, 3, 3, 3], images: 12 })
    expect(r.candidates.map((c) => c.tensor)).toEqual([POOLED, RELU])
    // Every image ran once for both tensors together.
    expect(r.embeddings).toEqual({ computed: 12, reused: 0 })
    const files = s.classes.flatMap((c) => c.support)
    const labels = s.classes.flatMap((c, i) => c.support.map(() => i))
    const [pooled, relu] = await tensorsOf(DENSE_STACK, [POOLED, RELU], files)
    const expected = { [POOLED]: looAccuracy(pooled, labels), [RELU]: looAccuracy(relu, labels) }
    console.log(`dense_stack 4-way 3-shot leave-one-out: ${JSON.stringify(expected)}`)
    expect(Object.fromEntries(r.ranking.map((x) => [x.tensor, x.accuracy]))).toEqual(expected)
    expect(r.ranking.every((x) => x.total === 12 && x.correct === Math.round(x.accuracy * 12))).toBe(true)
    const accs = r.ranking.map((x) => x.accuracy)
    expect(accs).toEqual([...accs].sort((a, b) => b - a))
    // Asked again (and adapting on the same images), the cached embeddings are used.
    expect((await suggestFeatures({ modelPath: DENSE_STACK, sets: s })).embeddings).toEqual({ computed: 0, reused: 12 })
  })

  it('fewer than 2 support images in a class is a call error on the sets field; a folder works as a job', async () => {
    const { service, until } = jobHarness()
    const one = sets(3)
    one.classes[1].support = one.classes[1].support.slice(0, 1)
    const err = await rejection(service.call('fewshot.suggestFeatures', { modelPath: DENSE_STACK, sets: one }) as Promise<unknown>)
    expect(err.code).toBe('out-of-range')
    expect(err.message).toContain(`class "${CLASSES[1]}" has 1; leaving one out needs at least 2 support images in every class`)
    expect(err.details).toMatchObject({ field: 'sets', constraint: 'min-support', min: 2 })
    const { jobId } = (await service.call('fewshot.suggestFeatures', { modelPath: DEMO_MODEL, supportDir: DEMO_IMAGES })) as { jobId: string }
    const end = (await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)) as { type: string; result: FeatureSuggestion }
    expect(end.type).toBe('job.done')
    expect(end.result.ranking).toHaveLength(1)
    expect(end.result.ranking[0]).toMatchObject({ auto: true, headInput: true })
    expect(end.result.images).toBe(sorted(DEMO_IMAGES).reduce((n, c) => n + readdirSync(join(DEMO_IMAGES, c)).length, 0))
  })
})

describe('adapting on a chosen feature tensor', () => {
  it('the written model is body-up-to-the-features + the new head: logits = features . W^T + b, and its metadata records the features', async () => {
    const s = sets(3)
    const r = await adaptModel({ modelPath: DENSE_STACK, sets: s, steps: 3 })
    // Automatic: the pooled features, not the last layer's input.
    expect(r.features).toMatchObject({ tensor: POOLED, width: 16, auto: true, headInput: false, kind: 'pooled' })
    expect(r.adapted.weight).toHaveLength(4 * 16)
    expect(r.trainedParameters).toBe((16 + 1) * 4)
    const path = join(root, 'adapted-pooled.onnx')
    await writeAdaptedModel(path, r)
    const written = await LoadedModel.open(path)
    expect(JSON.parse(written.summary.metadata['metascope.adapted_from']).features).toEqual({
      tensor: POOLED,
      width: 16,
      kind: 'pooled',
      follows: { op: 'GlobalAveragePool', node: '/pool/GlobalAveragePool' },
      headInput: false,
      auto: true
    })
    const files = s.classes.flatMap((c) => c.query)
    const [feats] = await tensorsOf(DENSE_STACK, [POOLED], files)
    const [logits] = await tensorsOf(path, [written.logitsName], files)
    let diff = 0
    feats.forEach((x, i) => {
      for (let n = 0; n < 4; n++) {
        const expected = x.reduce((acc, v, j) => acc + v * r.adapted.weight[n * 16 + j], r.adapted.bias[n])
        diff = Math.max(diff, Math.abs(logits[i][n] - expected))
      }
    })
    expect(diff).toBeLessThan(1e-4)
  })

  it("ANIL starts from the original head's rows only on the head's input", async () => {
    const model = await LoadedModel.open(DENSE_STACK)
    const original = headValues(model, findHead(model))
    // Classes named after the model's labels: on the head input, rows are the original head's.
    const named = { classes: sets(2).classes.slice(0, 2).map((c, i) => ({ ...c, name: ['alpha', 'gamma'][i] })) }
    const onHead = await adaptModel({ modelPath: DENSE_STACK, sets: named, method: 'anil', steps: 0, features: RELU })
    expect(onHead.features).toMatchObject({ headInput: true, width: 32, auto: false })
    expect(Array.from(onHead.adapted.weight.subarray(0, 32))).toEqual(Array.from(original.weight.subarray(0, 32)))
    expect(Array.from(onHead.adapted.weight.subarray(32, 64))).toEqual(Array.from(original.weight.subarray(64, 96)))
    const onPooled = await adaptModel({ modelPath: DENSE_STACK, sets: named, method: 'anil', steps: 0 })
    expect(onPooled.adapted.weight).toHaveLength(2 * 16)
    // The default initialisation: uniform in +-1/sqrt(16).
    expect(onPooled.adapted.weight.every((w) => Math.abs(w) <= 0.25)).toBe(true)
    expect(Array.from(onPooled.adapted.weight.subarray(0, 16))).not.toEqual(Array.from(original.weight.subarray(0, 16)))
  })

  it('the demo model adapts on its head input as before; reports without features still parse', async () => {
    const r = await adaptModel({ modelPath: DEMO_MODEL, sets: sets(2), steps: 2 })
    expect(r.features).toMatchObject({ tensor: r.head.features, width: 64, headInput: true, auto: true })
    const report = JSON.parse(JSON.stringify(predictionsJson(r, join(root, 'demo.onnx'))))
    expect(AdaptReport.parse(report).features).toMatchObject({ tensor: r.head.features, auto: true })
    delete report.features
    expect(AdaptReport.safeParse(report).success).toBe(true)
  })
})

describe('the CLI', () => {
  function capture(): { lines: string[]; restore: () => void } {
    const lines: string[] = []
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    })
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    return { lines, restore: () => (out.mockRestore(), err.mockRestore()) }
  }

  it('fewshot features lists the candidates with the automatic one marked, and ranks them with --support', async () => {
    const c = capture()
    try {
      expect(await featuresCommand(['--model', DENSE_STACK])).toBe(0)
      expect(await featuresCommand(['--model', DENSE_STACK, '--support', DEMO_IMAGES, '--json'])).toBe(0)
    } finally {
      c.restore()
    }
    const table = c.lines[0]
    expect(table).toMatch(new RegExp(`${POOLED.replace(/\//g, '\\/')}\\s+16\\s+pooled\\s+after GlobalAveragePool /pool/GlobalAveragePool\\s+\\[automatic\\]`))
    expect(table).toMatch(/Relu_output_0\s+32\s+dense-input\s+after Relu \/classifier\/classifier\.1\/Relu\s+\[the last layer's input\]/)
    const json = JSON.parse(c.lines[1])
    expect(json.candidates.map((x: { tensor: string }) => x.tensor)).toEqual([POOLED, RELU])
    expect(json.ranking.map((x: { tensor: string }) => x.tensor).sort()).toEqual([POOLED, RELU].sort())
  })

  it('fewshot adapt --features writes predictions.json and a model that record the tensor', async () => {
    const dir = tempDir()
    const support = join(dir, 'support')
    const query = join(dir, 'query')
    for (const cls of sets(2).classes) {
      for (const [sub, files] of [[support, cls.support], [query, cls.query]] as const) {
        const d = join(sub, cls.name)
        mkdirSync(d, { recursive: true })
        for (const f of files) copyFileSync(f, join(d, basename(f)))
      }
    }
    const out = join(dir, 'out')
    const c = capture()
    try {
      expect(await adaptCommand(['--model', DENSE_STACK, '--support', support, '--query', query, '--out', out, '--features', RELU, '--steps', '2'])).toBe(0)
    } finally {
      c.restore()
    }
    expect(JSON.parse(c.lines[0]).features).toMatchObject({ tensor: RELU, width: 32, auto: false })
    const report = AdaptReport.parse(JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')))
    expect(report.features).toMatchObject({ tensor: RELU, headInput: true })
    const written = await LoadedModel.open(join(out, 'model.onnx'))
    expect(JSON.parse(written.summary.metadata['metascope.adapted_from']).features.tensor).toBe(RELU)
  })
})
