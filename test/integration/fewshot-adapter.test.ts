import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { adaptModel } from '../../src/main/engine/fewshot/adapt/adapt'
import { adapterJson, initialAdapter, readAdapter } from '../../src/main/engine/fewshot/adapt/adapter/file'
import { resolveFeatures } from '../../src/main/engine/fewshot/adapt/features'
import { findHead } from '../../src/main/engine/fewshot/adapt/head'
import { modelSha256 } from '../../src/main/engine/fewshot/adapt/embed'
import { writeAdaptedModel } from '../../src/main/engine/fewshot/adapt/write'
import { FASHION_MNIST_DIR, readIdxPair } from '../../src/main/engine/fewshot/data/idx'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { AdapterResult, type AdapterItem } from '../../src/shared/fewshot-adapter'
import { maxOf } from '../../src/shared/stats'
import { rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * The feature adapter (issue #22 item 5) end to end on the few-shot demo model (a Fashion-MNIST CNN
 * trained on classes 0-4): meta-trained as a job on a folder of Fashion-MNIST training images of classes
 * 0-4, then used to adapt to the demo's classes 5-9; the written model carries the adapter's MatMul and
 * predicts what the engine predicted; an identity adapter changes nothing; bad adapter files are refused.
 */
const MODEL = join(ROOT, 'resources', 'demo', 'fewshot', 'fashion_cnn_0to4.onnx')
const SUPPORT = join(ROOT, 'resources', 'demo', 'fewshot', 'support')
const QUERY = join(ROOT, 'resources', 'demo', 'fewshot', 'query')
const NAMES = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat']

/** Fashion-MNIST training images of classes 0-4, `per` each, as 28x28 PNG files in class folders. */
async function metaTrainFolder(per: number): Promise<string> {
  const { images, labels } = await readIdxPair(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'), join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'))
  const px = images.height * images.width
  const root = tempDir()
  for (const [c, name] of NAMES.entries()) {
    mkdirSync(join(root, name))
    const rows = [...labels.keys()].filter((i) => labels[i] === c).slice(0, per)
    for (const i of rows) await sharp(Buffer.from(images.pixels.subarray(i * px, (i + 1) * px)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(root, name, `${i}.png`))
  }
  return root
}

/** The written model's logits for each file, through its own metadata's preprocessing. */
async function logitsOf(path: string, files: string[]): Promise<{ model: LoadedModel; logits: Float32Array[] }> {
  const model = await LoadedModel.open(path)
  const pre = modelPreprocess(model)
  const session = await OrtSession.create(model.bytes, path)
  try {
    const per = model.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
    const data = new Float32Array(files.length * per)
    for (const [i, f] of files.entries()) data.set((await loadImageTensor(f, pre)).data, i * per)
    const out = (await session.run({ [model.inputName]: floatTensor(data, model.inputDims(files.length)) }))[model.logitsName].data as Float32Array
    const n = model.numClasses
    return { model, logits: files.map((_, i) => out.slice(i * n, (i + 1) * n)) }
  } finally {
    await session.release()
  }
}

describe('feature adapter', () => {
  it('meta-trains as a job, then adaptation uses it and the written model includes its MatMul and predicts as the engine did', async () => {
    const folder = await metaTrainFolder(8)
    const out = join(tempDir(), 'adapter.json')
    const { service, events, until } = jobHarness()
    const { jobId } = (await service.call('fewshot.adapter', { modelPath: MODEL, folder, out, iterations: 3, shots: 2, queries: 3, innerSteps: 5, metaRate: 1e-3 })) as { jobId: string }
    const end = await until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))
    if (end.type === 'job.failed') throw new Error(JSON.stringify(end.error))
    const result = AdapterResult.parse(end.type === 'job.done' ? end.result : null)
    const items = events.filter((e) => e.type === 'job.item' && e.jobId === jobId).map((e) => (e as { item: AdapterItem }).item)
    expect(items.map((i) => i.iteration)).toEqual([1, 2, 3])
    expect(items.every((i) => Number.isFinite(i.loss) && i.accuracy >= 0 && i.accuracy <= 1)).toBe(true)
    expect(events.some((e) => e.type === 'job.progress' && e.jobId === jobId && e.phase === 'embeddings')).toBe(true)
    expect(result.training).toMatchObject({ classes: NAMES.slice().sort((a, b) => a.localeCompare(b)), images: 40, ways: 5, shots: 2, innerSteps: 5, order: 'first', init: 'identity' })
    expect(result.inWidth).toBe(result.outWidth)
    // Adam moved it off the identity.
    expect(result.relativeChange).toBeGreaterThan(0)

    const { adapter } = await readAdapter(out)
    expect(adapter.weight.length).toBe(result.inWidth * result.outWidth)
    const r = await adaptModel({ modelPath: MODEL, supportDir: SUPPORT, queryDir: QUERY, adapter: out })
    expect(r.adapter?.record).toMatchObject({ file: 'adapter.json', tensor: result.tensor, inWidth: result.inWidth, trainedOn: { sha256: r.modelSha256 } })
    expect(r.warnings).toEqual([])
    const path = join(tempDir(), 'adapted.onnx')
    await writeAdaptedModel(path, r)
    const { model, logits } = await logitsOf(path, r.predictions.map((p) => p.file))
    expect(model.index.nodes.some((n) => n.opType === 'MatMul' && model.index.constant(n.inputs[1])?.dims.join('x') === `${result.inWidth}x${result.outWidth}`)).toBe(true)
    r.predictions.forEach((p, i) => {
      const top = logits[i].indexOf(maxOf(logits[i]))
      expect(model.labelOf(top)).toBe(p.after.label)
      const sum = logits[i].reduce((a, v) => a + Math.exp(v - logits[i][top]), 0)
      expect(Math.abs(1 / sum - p.after.probability)).toBeLessThan(1e-4)
    })
    const meta = JSON.parse(model.summary.metadata['metascope.adapted_from'])
    expect(meta.adapter).toMatchObject({ file: 'adapter.json', tensor: result.tensor, outWidth: result.outWidth, training: { iterations: 3 } })
  })

  it('an identity adapter leaves the Proto-MAML adaptation unchanged', async () => {
    const model = await LoadedModel.open(MODEL)
    const features = resolveFeatures(model, findHead(model))
    const path = join(tempDir(), 'identity.json')
    const training = { folder: 'none', classes: [], images: 0, ways: 5, shots: 5, queries: 15, iterations: 0, metaBatch: 1, metaRate: 1e-5, innerSteps: 100, innerRate: 0.1, order: 'first' as const, seed: 0, init: 'identity' as const }
    writeFileSync(path, adapterJson({ tensor: features.tensor, inWidth: features.width, outWidth: features.width, weight: initialAdapter(features.width, features.width, 0), model: { file: model.file, sha256: modelSha256(model) }, training }))
    const plain = await adaptModel({ modelPath: MODEL, supportDir: SUPPORT, queryDir: QUERY })
    const through = await adaptModel({ modelPath: MODEL, supportDir: SUPPORT, queryDir: QUERY, adapter: path })
    expect(Array.from(through.adapted.weight)).toEqual(Array.from(plain.adapted.weight))
    expect(Array.from(through.adapted.bias)).toEqual(Array.from(plain.adapted.bias))
    expect(through.predictions.map((p) => p.after)).toEqual(plain.predictions.map((p) => p.after))
  })

  it('refuses bad adapter files, naming the file and the problem', async () => {
    const model = await LoadedModel.open(MODEL)
    const features = resolveFeatures(model, findHead(model))
    const dir = tempDir()
    const training = { folder: 'x', classes: ['a'], images: 1, ways: 2, shots: 1, queries: 1, iterations: 1, metaBatch: 1, metaRate: 1e-5, innerSteps: 1, innerRate: 0.1, order: 'first' as const, seed: 0, init: 'identity' as const }
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const valid = (over: Partial<{ tensor: string; inWidth: number; outWidth: number }> = {}) => {
      const a = { tensor: features.tensor, inWidth: features.width, outWidth: features.width, ...over }
      return adapterJson({ ...a, weight: initialAdapter(a.inWidth, a.outWidth, 0), model: { file: model.file, sha256: modelSha256(model) }, training })
    }
    const adapt = (adapter: string, extra: Record<string, unknown> = {}) => rejection(adaptModel({ modelPath: MODEL, supportDir: SUPPORT, queryDir: QUERY, adapter, ...extra }))
    const cases: [string, string, RegExp][] = [
      [join(dir, 'missing.json'), 'not-found', /does not exist/],
      [file('text.json', 'weights {'), 'bad-file', /is not JSON/],
      [file('other.json', JSON.stringify({ format: 'something-else' })), 'bad-file', /format.*metascope-fewshot-adapter/],
      [file('short.json', valid().replace(/"weight":"[^"]*"/, '"weight":"AAAA"')), 'bad-file', new RegExp(`holds 3 bytes of weights; a ${features.width} x ${features.width} adapter has ${features.width ** 2} float32 weights`)],
      [file('nan.json', valid().replace(/"weight":"[^"]*"/, `"weight":"${Buffer.from(new Float32Array(features.width * features.width).fill(NaN).buffer).toString('base64')}"`)), 'bad-file', /not finite/],
      [file('wide.json', valid({ inWidth: features.width + 3 })), 'invalid-arguments', new RegExp(`takes ${features.width + 3} features, but fashion_cnn_0to4.onnx's ".+" has ${features.width}\\.`)]
    ]
    for (const [path, code, message] of cases) {
      const err = await adapt(path)
      expect(err.code, path).toBe(code)
      expect(err.message).toContain(path)
      expect(err.message).toMatch(message)
      expect(err.details?.field).toBe('adapter')
    }
    const renamed = file('renamed.json', valid({ tensor: 'some/other' }))
    const missing = await adapt(renamed)
    expect(missing.details).toMatchObject({ field: 'adapter', constraint: 'features-missing' })
    expect(missing.message).toContain(renamed)
    expect((await adapt(renamed, { features: features.tensor })).details?.constraint).toBe('features-mismatch')
    expect((await adapt(file('ok.json', valid()), { mode: 'add' })).details?.constraint).toBe('add-mode')
    expect((await adapt(join(dir, 'ok.json'), { depth: 1 })).details?.constraint).toBe('with-depth')
    expect(existsSync(join(dir, 'ok.json')) && readFileSync(join(dir, 'ok.json'), 'utf8').startsWith('{"format":"metascope-fewshot-adapter"')).toBe(true)
  })

  it('refuses a folder too small for the episodes before any job starts, naming the folder', async () => {
    const folder = tempDir()
    for (const c of ['Bag', 'Coat']) {
      mkdirSync(join(folder, c))
      for (const f of readdirSync(join(SUPPORT, c === 'Coat' ? 'Sandal' : c)).slice(0, 2)) writeFileSync(join(folder, c, f), readFileSync(join(SUPPORT, c === 'Coat' ? 'Sandal' : c, f)))
    }
    const { service } = jobHarness()
    const err = await rejection(service.call('fewshot.adapter', { modelPath: MODEL, folder, out: join(tempDir(), 'a.json'), ways: 2, shots: 5 }))
    expect(err.message).toContain(folder)
    expect(err.message).toMatch(/Too few images/)
  })
})
