import { createHash } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { ApiError } from '../../../../shared/errors'
import { modelPreprocess } from '../../model/inputs'
import { loadImageTensor } from '../../data/image-tensor'
import type { Preprocess } from '../../data/preprocess-spec'
import { floatTensor, OrtSession } from '../../exec/ort'
import { GraphBuilder } from '../../onnx/builder'
import type { LoadedModel } from '../../model/loaded-model'
import { probabilitiesFrom } from '../../model/scores'
import type { ClassifierHead } from './head'
import { preprocessKey } from './preprocess'

/** What the original model makes of one image: its features and its own top-1 prediction. */
export interface Embedding {
  features: Float32Array
  /** The original model's top-1 class and its probability (the model's own output; softmax of logits when it has none). */
  top1: number
  probability: number
  /** The original model's scores for every class (probabilities as defined above). */
  probabilities: Float32Array
}

const cache = new Map<string, Embedding>()
/** Enough for tens of thousands of images; the oldest entries go first. */
const CACHE_LIMIT = 20_000
const stats = { computed: 0, reused: 0 }

/** How many images were embedded by running the model, and how many came from the cache (since the last clear). */
export function embeddingCacheStats(): { computed: number; reused: number; entries: number } {
  return { ...stats, entries: cache.size }
}

export function clearEmbeddingCache(): void {
  cache.clear()
  stats.computed = 0
  stats.reused = 0
}

/** sha256 of the model file's bytes (memoised per LoadedModel). */
const hashes = new WeakMap<LoadedModel, string>()
export function modelSha256(model: LoadedModel): string {
  let h = hashes.get(model)
  if (!h) {
    h = createHash('sha256').update(model.bytes).digest('hex')
    hashes.set(model, h)
  }
  return h
}

export interface EmbedOptions {
  /** How each image becomes the model's input; omitted: the model's own (modelPreprocess). */
  preprocess?: Preprocess
  threads?: number
  batch?: number
  throwIfCancelled?: () => void
  onProgress?: (done: number, total: number) => void
}

/** A tensor images are embedded with: its name and values per image (flattened). */
export interface FeatureRef {
  tensor: string
  width: number
}

/** The head's input: what adaptation embedded with before feature tensors could be chosen. */
export function headInput(head: ClassifierHead): FeatureRef {
  return { tensor: head.features, width: head.featureDim }
}

/**
 * The embeddings of `files` under `model` at `features` (omitted: the head's input): one onnxruntime
 * session over the model with that tensor as an extra output, batched, each image preprocessed as
 * the model wants it. Results are cached by model hash, tensor, preprocessing, file path,
 * modification time and size, so adapting again with other settings reuses them (another
 * preprocessing or tensor embeds again). A file that cannot be read throws an ApiError naming it.
 */
export async function embedFiles(model: LoadedModel, head: ClassifierHead, files: string[], opts: EmbedOptions & { features?: FeatureRef } = {}): Promise<Embedding[]> {
  return (await embedTensors(model, head, [opts.features ?? headInput(head)], files, opts))[0]
}

/**
 * The embeddings of `files` at every tensor of `tensors` (result[t][file]), from ONE session run per
 * batch with all of them as extra outputs; each tensor's embeddings are cached on their own, and an
 * image is run again only when one of its tensors is missing. The original model's prediction is
 * the same in every tensor's entry.
 */
export async function embedTensors(model: LoadedModel, head: ClassifierHead, tensors: FeatureRef[], files: string[], opts: EmbedOptions = {}): Promise<Embedding[][]> {
  const hash = modelSha256(model)
  const pre = opts.preprocess ?? modelPreprocess(model)
  const how = preprocessKey(pre)
  const fileKeys = await Promise.all(
    files.map(async (f) => {
      const s = await stat(f).catch(() => null)
      return `${how}|${f}|${s?.mtimeMs ?? 0}|${s?.size ?? 0}`
    })
  )
  const keys = tensors.map((t) => fileKeys.map((k) => `${hash}|${t.tensor}|${k}`))
  const out: (Embedding | undefined)[][] = keys.map((row) => row.map((k) => cache.get(k)))
  const missing = files.flatMap((_, i) => (out.some((row) => !row[i]) ? [i] : []))
  stats.reused += files.length - missing.length
  if (missing.length) {
    const computed = await runBody(model, head, tensors, pre, missing.map((i) => files[i]), opts)
    tensors.forEach((_, t) =>
      missing.forEach((i, j) => {
        out[t][i] = computed[t][j]
        cache.delete(keys[t][i])
        cache.set(keys[t][i], computed[t][j])
      })
    )
    stats.computed += missing.length
    while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string)
  }
  return out as Embedding[][]
}

async function runBody(model: LoadedModel, head: ClassifierHead, tensors: FeatureRef[], pre: Preprocess, files: string[], opts: EmbedOptions): Promise<Embedding[][]> {
  const b = new GraphBuilder(model.model)
  const outputs = [...new Set([model.logitsName, ...tensors.map((t) => t.tensor)])]
  b.setOutputs(outputs)
  const session = await OrtSession.create(b.encode(), model.path, opts.threads ? { intraOpThreads: opts.threads } : {})
  const per = model.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
  const batch = model.dynamicBatch ? Math.max(1, opts.batch ?? 16) : model.fixedBatch
  const k = model.numClasses
  const result: Embedding[][] = tensors.map(() => [])
  try {
    for (let start = 0; start < files.length; start += batch) {
      opts.throwIfCancelled?.()
      const chunk = files.slice(start, start + batch)
      // Fixed-batch models get the last chunk padded with zeros.
      const n = model.dynamicBatch ? chunk.length : batch
      const data = new Float32Array(n * per)
      const pixels = await Promise.all(chunk.map((file) => loadImageTensor(file, pre)))
      pixels.forEach((p, i) => data.set(p.data, i * per))
      const res = await session.run({ [model.inputName]: floatTensor(data, model.inputDims(n)) })
      const scores = res[model.logitsName].data as Float32Array
      const predictions = chunk.map((_, i) => {
        const probs = Float32Array.from(probabilitiesFrom(scores.subarray(i * k, (i + 1) * k), head.activation))
        let top1 = 0
        for (let c = 1; c < k; c++) if (probs[c] > probs[top1]) top1 = c
        return { top1, probability: probs[top1], probabilities: probs }
      })
      tensors.forEach(({ tensor, width: f }, t) => {
        const feats = res[tensor].data as Float32Array
        if (feats.length !== n * f) throw new ApiError('internal', `The features ${tensor} of ${model.file} have ${feats.length / n} values per image, expected ${f}.`, model.path)
        chunk.forEach((_, i) => result[t].push({ features: feats.slice(i * f, (i + 1) * f), ...predictions[i] }))
      })
      opts.onProgress?.(Math.min(files.length, start + batch), files.length)
    }
  } finally {
    await session.release()
  }
  return result
}
