import { basename, resolve } from 'node:path'
import type { z } from 'zod'
import { ApiError } from '../../../../../shared/errors'
import { ADAPT_DEFAULTS } from '../../../../../shared/fewshot'
import type { AdapterArgs, AdapterItem, AdapterResult, AdapterTraining } from '../../../../../shared/fewshot-adapter'
import { seededRandom } from '../../../data/random'
import { floatTensor, OrtSession } from '../../../exec/ort'
import { LoadedModel } from '../../../model/loaded-model'
import { Adam } from '../../../train/adam'
import { oneHot } from '../../data/batch'
import type { ClassEntry } from '../../data/dataset'
import { sampleEpisode } from '../../data/episodes'
import { listClassFolders, loadFolderDataset, type FolderWarning } from '../../data/folder'
import { embedFiles, embeddingCacheStats, modelSha256 } from '../embed'
import { resolveFeatures, type FeatureTensor } from '../features'
import { findHead, type ClassifierHead } from '../head'
import { adaptInputs, type AdaptInputs } from '../preprocess'
import { initialAdapter, writeAdapter, type Adapter } from './file'
import { A_QUERY, A_QUERY_LABELS, A_SUPPORT, A_SUPPORT_LABELS, ADAPTER, buildAdapterGraph } from './graph'

export type AdapterCall = z.output<typeof AdapterArgs>

/** Everything checked before the job starts: the model, its features, the folder's classes and images. */
export interface AdapterPlan {
  call: AdapterCall
  out: string
  inputs: AdaptInputs
  head: ClassifierHead
  features: FeatureTensor
  folder: string
  classes: string[]
  /** Image files per class, unreadable ones left out. */
  files: string[][]
  warnings: FolderWarning[]
}

export interface AdapterHooks {
  onIteration?: (item: AdapterItem, total: number) => void
  onProgress?: (p: { stage: 'embeddings' | 'compiling'; done: number; total: number }) => void
  throwIfCancelled?: () => void
}

/**
 * Opens the model, resolves the features (fewshot.adapt's rules and errors, field `features`) and
 * checks the folder can give the episodes (field `folder`: 2+ class sub-folders, `ways` classes,
 * shots + queries readable images in each; unreadable images are skipped with a warning, and listed
 * when they leave a class short).
 */
export async function planAdapter(call: AdapterCall, out: string): Promise<AdapterPlan> {
  const inputs = await adaptInputs(await LoadedModel.open(resolve(call.modelPath)), call)
  const head = findHead(inputs.model, call.head)
  const features = resolveFeatures(inputs.model, head, call.features)
  const folder = resolve(call.folder)
  // A 1x1 decode only checks each image is readable; the model's own preprocessing comes when embedding.
  const { ways, shots, queries } = call
  const { warnings } = await loadFolderDataset(folder, { size: [1, 1], channels: 3, need: { ways, shots, queries } })
  const unreadable = new Set(warnings.map((w) => w.file))
  const listed = await listClassFolders(folder)
  const files = listed.classes.map((c) => c.files.filter((f) => !unreadable.has(f)))
  return { call, out, inputs, head, features, folder, classes: listed.classes.map((c) => c.name), files, warnings }
}

/**
 * Meta-trains the adapter A on the folder's classes: every image embedded once (cached, as adaptation
 * embeds), then `iterations` Adam steps on A, each on the mean query-loss gradient of `metaBatch`
 * seeded episodes (N-way K-shot, Q queries), every episode one run of the adapter graph (graph.ts):
 * the Proto-MAML start and inner steps that adaptation itself takes, on g = f A. Writes the adapter file.
 */
export async function trainAdapter(plan: AdapterPlan, hooks: AdapterHooks = {}): Promise<AdapterResult> {
  const { call, inputs, head, features } = plan
  const { model, preprocess, used } = inputs
  const f = features.width
  const g = call.width ?? f
  const innerSteps = call.innerSteps ?? ADAPT_DEFAULTS.steps
  const innerRate = call.innerRate ?? ADAPT_DEFAULTS.innerRate
  const all = plan.files.flat()

  const before = embeddingCacheStats()
  const t0 = performance.now()
  const embedded = await embedFiles(model, head, all, {
    features,
    preprocess,
    threads: call.threads,
    throwIfCancelled: hooks.throwIfCancelled,
    onProgress: (done, total) => hooks.onProgress?.({ stage: 'embeddings', done, total })
  })
  const embedMs = performance.now() - t0
  const after = embeddingCacheStats()

  // Episodes draw image refs whose index is the image's position in `all`.
  let offset = 0
  const entries: ClassEntry[] = plan.classes.map((name, c) => {
    const images = plan.files[c].map((_, k) => ({ index: offset + k, rot: 0 }))
    offset += images.length
    return { name, images }
  })
  const classIds = entries.map((_, c) => c)
  const { ways, shots, queries } = call
  const [s, q] = [ways * shots, ways * queries]

  hooks.throwIfCancelled?.()
  hooks.onProgress?.({ stage: 'compiling', done: 0, total: 1 })
  const t1 = performance.now()
  const graph = await buildAdapterGraph({ inWidth: f, outWidth: g, ways, supportBatch: s, queryBatch: q, steps: innerSteps, innerRate, order: call.order })
  const session = await OrtSession.create(graph.bytes, `${model.file} adapter meta-training`, call.threads ? { intraOpThreads: call.threads } : {})
  const compileMs = performance.now() - t1
  hooks.onProgress?.({ stage: 'compiling', done: 1, total: 1 })

  const start = initialAdapter(f, g, call.seed)
  const weight = Float32Array.from(start)
  const adam = new Adam([weight.length], { lr: call.metaRate })
  const random = seededRandom(call.seed)
  const rows = (refs: { index: number }[], width: number) => {
    const out = new Float32Array(refs.length * width)
    refs.forEach((r, i) => out.set(embedded[r.index].features, i * width))
    return out
  }
  const labels = (n: number, per: number) => Int32Array.from({ length: n }, (_, i) => Math.floor(i / per))
  const history: AdapterItem[] = []
  const t2 = performance.now()
  try {
    for (let it = 1; it <= call.iterations; it++) {
      hooks.throwIfCancelled?.()
      const grad = new Float32Array(weight.length)
      let loss = 0
      let accuracy = 0
      for (let e = 0; e < call.metaBatch; e++) {
        const ep = sampleEpisode(random, entries, classIds, ways, shots, queries)
        const [ys, yq] = [labels(s, shots), labels(q, queries)]
        const res = await session.run({
          [ADAPTER]: floatTensor(weight, [f, g]),
          [A_SUPPORT]: floatTensor(rows(ep.support, f), [s, f]),
          [A_SUPPORT_LABELS]: floatTensor(oneHot(ys, ways), [s, ways]),
          [A_QUERY]: floatTensor(rows(ep.query, f), [q, f]),
          [A_QUERY_LABELS]: floatTensor(oneHot(yq, ways), [q, ways])
        })
        const gr = res[graph.grad].data as Float32Array
        for (let i = 0; i < grad.length; i++) grad[i] += gr[i] / call.metaBatch
        loss += Number((res[graph.queryLoss].data as Float32Array)[0]) / call.metaBatch
        accuracy += queryAccuracy(res[graph.queryLogits].data as Float32Array, yq, ways) / call.metaBatch
      }
      if (!Number.isFinite(loss) || !grad.every(Number.isFinite)) {
        throw new ApiError('out-of-range', `Meta-training the adapter diverged at iteration ${it} (query loss ${loss}); use a smaller metaRate than ${call.metaRate} or a smaller innerRate than ${innerRate}.`, undefined, { field: 'metaRate' })
      }
      adam.step([weight], [grad])
      const item = { iteration: it, loss, accuracy }
      history.push(item)
      hooks.onIteration?.(item, call.iterations)
    }
  } finally {
    await session.release()
  }
  const trainMs = performance.now() - t2

  const training: AdapterTraining = {
    folder: basename(plan.folder),
    classes: plan.classes,
    images: all.length,
    ways,
    shots,
    queries,
    iterations: call.iterations,
    metaBatch: call.metaBatch,
    metaRate: call.metaRate,
    innerSteps,
    innerRate,
    order: call.order,
    seed: call.seed,
    init: g === f ? 'identity' : 'random-projection',
    preprocess: used
  }
  const adapter: Adapter = { tensor: features.tensor, inWidth: f, outWidth: g, weight, model: { file: model.file, sha256: modelSha256(model) }, training }
  await writeAdapter(plan.out, adapter)
  const tenth = Math.max(1, Math.floor(history.length / 10))
  return {
    file: plan.out,
    tensor: features.tensor,
    inWidth: f,
    outWidth: g,
    training,
    start: meanOf(history.slice(0, tenth)),
    end: meanOf(history.slice(-tenth)),
    relativeChange: frobenius(weight, start) / Math.max(1e-30, frobenius(start, new Float32Array(start.length))),
    ms: { embeddings: embedMs, compile: compileMs, training: trainMs },
    embeddings: { computed: after.computed - before.computed, reused: after.reused - before.reused },
    warnings: plan.warnings
  }
}

function queryAccuracy(logits: Float32Array, labels: Int32Array, ways: number): number {
  let correct = 0
  labels.forEach((y, r) => {
    let best = 0
    for (let c = 1; c < ways; c++) if (logits[r * ways + c] > logits[r * ways + best]) best = c
    if (best === y) correct++
  })
  return correct / labels.length
}

function meanOf(items: AdapterItem[]): { loss: number; accuracy: number } {
  const n = Math.max(1, items.length)
  return { loss: items.reduce((a, x) => a + x.loss, 0) / n, accuracy: items.reduce((a, x) => a + x.accuracy, 0) / n }
}

function frobenius(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2
  return Math.sqrt(s)
}
