import { resolve } from 'node:path'
import type { FewshotMethod } from '../../../../shared/fewshot'
import { LoadedModel } from '../../model/loaded-model'
import type { FolderWarning } from '../data/folder'
import { adaptHead } from './adapt-head'
import { embedFiles, embeddingCacheStats, modelSha256, type Embedding } from './embed'
import { findHead, type ClassifierHead } from './head'
import type { HeadWeights } from './head-net'
import { scoreQueries, type AdaptPrediction } from './predict'
import { classLabels, loadSetFiles, type ExplicitSets } from './sets'
import { checkAdaptOptions, type AdaptMethod } from './settings'

export interface AdaptOptions {
  modelPath: string
  /** Folders with one sub-folder per class; or give `sets`. */
  supportDir?: string
  queryDir?: string
  /** Explicit support and query files per class, instead of supportDir / queryDir. */
  sets?: ExplicitSets
  /** A meta-training-only method is refused with its own message. */
  method?: AdaptMethod | FewshotMethod
  steps?: number
  innerRate?: number
  /** The head's node name or weight name, when it is not found automatically. */
  head?: string
  threads?: number
  /** Images per body run while embedding. */
  batch?: number
  onProgress?: (p: { stage: 'embeddings' | 'adaptation'; done: number; total: number }) => void
  throwIfCancelled?: () => void
}

export interface AdaptResult {
  model: LoadedModel
  modelSha256: string
  head: ClassifierHead
  method: AdaptMethod
  /** Inner steps taken (0 when the head is closed-form, as ProtoNet's is), not the steps asked for. */
  steps: number
  innerRate: number
  /** Weights the steps trained: the new head's (F + 1) x N, or 0 when no step was taken. */
  trainedParameters: number
  classes: string[]
  supportCounts: number[]
  queryCounts: number[]
  /** The adapted N-way head (weight [N, F] rows, bias [N]) on the model's own features. */
  adapted: HeadWeights
  predictions: AdaptPrediction[]
  /** Null unless every class name is one of the model's labels. */
  accuracyBefore: number | null
  accuracyAfter: number
  /** Support loss before each inner step (empty without steps). */
  supportLoss: number[]
  ms: { embeddings: number; adaptation: number }
  embeddings: { computed: number; reused: number }
  provider: string
  /** Images skipped while loading, and a rising support loss. */
  warnings: FolderWarning[]
}

/**
 * Adapts an imported, pretrained classifier to the classes of a support folder: embeds support and
 * query images once with the model's body (cached), adapts a new N-way head on those embeddings with
 * the chosen method's test-time graph, and scores the query images before (the original model) and
 * after (the adapted head).
 */
export async function adaptModel(opts: AdaptOptions): Promise<AdaptResult> {
  const { method, steps, innerRate, ...call } = checkAdaptOptions(opts)
  const model = await LoadedModel.open(resolve(call.modelPath))
  const head = findHead(model, call.head)
  const { classes, sFiles, qFiles, warnings: loadWarnings } = await loadSetFiles(call)
  const supportFiles = sFiles.flat()
  const queryFiles = qFiles.flat()
  const supportLabels = classLabels(sFiles)
  const queryLabels = classLabels(qFiles)

  const embedded = await embedSets(model, head, supportFiles, queryFiles, opts)
  opts.throwIfCancelled?.()

  const t0 = performance.now()
  const { adapted, supportLoss, steps: stepsTaken, provider } = await adaptHead({
    model,
    head,
    method,
    classes,
    steps,
    innerRate,
    support: embedded.support.map((e) => e.features),
    supportLabels,
    query: embedded.query.map((e) => e.features),
    queryLabels,
    threads: call.threads
  })
  const adaptationMs = performance.now() - t0
  opts.onProgress?.({ stage: 'adaptation', done: 1, total: 1 })

  const rising = risingLossWarning(model, supportLoss, innerRate)
  return {
    model,
    modelSha256: modelSha256(model),
    head,
    method,
    steps: stepsTaken,
    innerRate,
    trainedParameters: stepsTaken > 0 ? (head.featureDim + 1) * classes.length : 0,
    classes,
    supportCounts: sFiles.map((x) => x.length),
    queryCounts: qFiles.map((x) => x.length),
    adapted,
    ...scoreQueries(model, classes, adapted, queryFiles, embedded.query, queryLabels),
    supportLoss,
    ms: { embeddings: embedded.ms, adaptation: adaptationMs },
    embeddings: embedded.counts,
    provider,
    warnings: rising ? [...loadWarnings, rising] : loadWarnings
  }
}

interface EmbeddedSets {
  support: Embedding[]
  query: Embedding[]
  ms: number
  /** Images embedded by running the model, and images the cache already held. */
  counts: { computed: number; reused: number }
}

/** Support and query images through the model's body in one pass (cached per file). */
async function embedSets(model: LoadedModel, head: ClassifierHead, support: string[], query: string[], opts: AdaptOptions): Promise<EmbeddedSets> {
  const before = embeddingCacheStats()
  const t0 = performance.now()
  const embedded = await embedFiles(model, head, [...support, ...query], {
    threads: opts.threads,
    batch: opts.batch,
    throwIfCancelled: opts.throwIfCancelled,
    onProgress: (done, total) => opts.onProgress?.({ stage: 'embeddings', done, total })
  })
  const ms = performance.now() - t0
  const after = embeddingCacheStats()
  return {
    support: embedded.slice(0, support.length),
    query: embedded.slice(support.length),
    ms,
    counts: { computed: after.computed - before.computed, reused: after.reused - before.reused }
  }
}

/** A warning when the support loss ended higher than it started: the inner rate is likely too large. */
function risingLossWarning(model: LoadedModel, supportLoss: number[], innerRate: number): FolderWarning | null {
  const [first, last] = [supportLoss[0], supportLoss[supportLoss.length - 1]]
  if (supportLoss.length < 2 || last <= first) return null
  return {
    file: model.path,
    message: `The support loss rose during adaptation (${first.toPrecision(3)} -> ${last.toPrecision(3)}); a smaller inner learning rate than ${innerRate} may adapt better.`
  }
}
