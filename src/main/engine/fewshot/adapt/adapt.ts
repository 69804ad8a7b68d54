import { resolve } from 'node:path'
import type { PreprocessChoice } from '../../../../shared/api'
import type { AdaptDeep, AdaptItem, AdaptMode, AdaptOldClass, AdaptPreprocess, FewshotMethod } from '../../../../shared/fewshot'
import type { Preprocess } from '../../data/preprocess-spec'
import { LoadedModel } from '../../model/loaded-model'
import type { FolderWarning } from '../data/folder'
import { adaptHead } from './adapt-head'
import { adaptedEmbeddings, adapterFeatures, checkAdapter, openAdapter, type UsedAdapter } from './adapter/use'
import { addClasses, addModeFeatures, type AddedClasses } from './add-classes'
import { adaptDeeper, checkDeeper } from './deep/adapt-deeper'
import { embedFiles, embeddingCacheStats, modelSha256, type Embedding } from './embed'
import { resolveFeatures, type FeatureTensor } from './features'
import { findHead, type ClassifierHead } from './head'
import type { HeadWeights } from './head-net'
import { scoreQueries, type AdaptPrediction } from './predict'
import { adaptInputs } from './preprocess'
import { classLabels, loadSetFiles, type ExplicitSets } from './sets'
import { checkAdaptOptions, type AdaptMethod } from './settings'

/** normalization, resize, channelOrder, size: as cam.run takes them; a field left out is the model's own. */
export interface AdaptOptions extends PreprocessChoice {
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
  /** The tensor images are embedded with (featureCandidates lists them); omitted: the automatic choice. */
  features?: string
  /** 'add' keeps the model's classes and adds the new ones (add-classes.ts); default 'replace'. */
  mode?: AdaptMode
  /** Add mode: images of the model's own classes to measure with (a folder of label sub-folders, or files per label). */
  oldDir?: string
  oldClasses?: AdaptOldClass[]
  /** Deeper adaptation (deep/adapt-deeper.ts): blocks fine-tuned (0: the head only), Adam steps and rate, augmentation, seed, early stopping. */
  depth?: number
  deepSteps?: number
  deepRate?: number
  augment?: boolean
  seed?: number
  earlyStop?: boolean
  /** A feature adapter file written by `fewshot adapter` (adapter/): the head is adapted on its output, and the written model carries it. */
  adapter?: string
  /** Each step's support loss as it is measured: the head's inner steps, or deeper adaptation's fine-tuning steps (not add mode's refinement). */
  onStep?: (item: AdaptItem) => void
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
  /** The tensor the new head reads (the automatic choice unless one was named). */
  features: FeatureTensor
  /** 'imprint' in add mode. */
  method: AdaptMethod | 'imprint'
  /** Absent: 'replace'. */
  mode?: AdaptMode
  /** Add mode: the written model's labels, activation and the old-class measurements. */
  added?: AddedClasses
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
  /** What support and query images went through ("before" included), with each field's source. */
  preprocess: AdaptPreprocess
  /** Deeper adaptation: its report, and the fine-tuned block weights the written model carries. */
  deep?: AdaptDeep & { weights: Map<string, Float32Array> }
  /** The feature adapter the head was adapted after (its matrix goes into the written model). */
  adapter?: UsedAdapter
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
  // At the chosen size for a model with open height and width: the head is adapted on those features.
  const { model, preprocess, used } = await adaptInputs(await LoadedModel.open(resolve(call.modelPath)), call)
  const head = findHead(model, call.head)
  // An adapter names the features it was trained on: they are the default then.
  const opened = call.adapter ? await openAdapter(call.adapter) : null
  const features = call.mode === 'add' ? addModeFeatures(model, head, call.features) : opened && call.features === undefined ? adapterFeatures(opened, model, head) : resolveFeatures(model, head, call.features)
  const adapterUse = opened ? checkAdapter(opened, model, features, call) : null
  const { classes, sFiles, qFiles, warnings: loadWarnings } = await loadSetFiles(call)
  if (call.mode === 'add') {
    const sets = { classes, sFiles, qFiles, warnings: loadWarnings }
    const embed = (support: string[], query: string[]) => embedSets(model, head, features, preprocess, support, query, opts)
    return addClasses({ model, head, features, call: { ...call, method, steps, innerRate }, sets, preprocess: used, embed, onProgress: opts.onProgress, throwIfCancelled: opts.throwIfCancelled })
  }
  const supportFiles = sFiles.flat()
  const queryFiles = qFiles.flat()
  const supportLabels = classLabels(sFiles)
  const queryLabels = classLabels(qFiles)

  if (call.depth > 0) checkDeeper(model, features, preprocess, call)
  const raw = await embedSets(model, head, features, preprocess, supportFiles, queryFiles, opts)
  // The cache keeps the model's own features; the head sees them through the adapter.
  const embedded = adapterUse ? { ...raw, support: adaptedEmbeddings(adapterUse.adapter, raw.support), query: adaptedEmbeddings(adapterUse.adapter, raw.query) } : raw
  opts.throwIfCancelled?.()

  const t0 = performance.now()
  const headSpec = {
    model,
    head,
    features: adapterUse ? { ...features, width: adapterUse.adapter.outWidth, headInput: false } : features,
    method,
    classes,
    steps,
    innerRate,
    support: embedded.support.map((e) => e.features),
    supportLabels,
    query: embedded.query.map((e) => e.features),
    queryLabels,
    threads: call.threads
  }
  // Deeper adaptation fine-tunes the last blocks from the head-only start; its queries get the fine-tuned features.
  const deeper = call.depth > 0 ? await adaptDeeper(headSpec, { support: supportFiles, query: queryFiles }, embedded.query, preprocess, call, opts.onStep, opts.throwIfCancelled) : null
  // Head only: each inner step's loss streams out as its chunk of steps runs (adapt-head.ts).
  const onStep = opts.onStep && ((step: number, supportLoss: number) => opts.onStep!({ step, supportLoss }))
  const { adapted, supportLoss, steps: stepsTaken, provider } = deeper ?? (await adaptHead({ ...headSpec, onStep, throwIfCancelled: opts.throwIfCancelled }))
  const adaptationMs = performance.now() - t0
  opts.onProgress?.({ stage: 'adaptation', done: 1, total: 1 })

  // Adam's loss over drawn augmented views is not monotone, and the inner rate is not its rate.
  const rising = deeper ? null : risingLossWarning(model, supportLoss, innerRate)
  return {
    model,
    modelSha256: modelSha256(model),
    head,
    features,
    method,
    steps: stepsTaken,
    innerRate,
    trainedParameters: deeper ? deeper.deep.trainedParameters : stepsTaken > 0 ? (headSpec.features.width + 1) * classes.length : 0,
    classes,
    supportCounts: sFiles.map((x) => x.length),
    queryCounts: qFiles.map((x) => x.length),
    adapted,
    ...scoreQueries(model, classes, adapted, queryFiles, deeper?.query ?? embedded.query, queryLabels),
    supportLoss,
    preprocess: used,
    ...(deeper ? { deep: { ...deeper.deep, weights: deeper.weights } } : {}),
    ...(adapterUse ? { adapter: adapterUse } : {}),
    ms: { embeddings: embedded.ms, adaptation: adaptationMs },
    embeddings: embedded.counts,
    provider,
    warnings: [...loadWarnings, ...(adapterUse?.warning ? [adapterUse.warning] : []), ...(rising ? [rising] : [])]
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
async function embedSets(model: LoadedModel, head: ClassifierHead, features: FeatureTensor, preprocess: Preprocess, support: string[], query: string[], opts: AdaptOptions): Promise<EmbeddedSets> {
  const before = embeddingCacheStats()
  const t0 = performance.now()
  const embedded = await embedFiles(model, head, [...support, ...query], {
    features,
    preprocess,
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
