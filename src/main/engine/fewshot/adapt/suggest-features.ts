import { resolve } from 'node:path'
import type { PreprocessChoice } from '../../../../shared/api'
import { ApiError } from '../../../../shared/errors'
import type { FeatureScore, FeaturesResult, FeatureSuggestion } from '../../../../shared/fewshot-features'
import { LoadedModel } from '../../model/loaded-model'
import { listClassFolders } from '../data/folder'
import { embeddingCacheStats, embedTensors } from './embed'
import { featureCandidates, type FeatureTensor } from './features'
import { findHead, type ClassifierHead } from './head'
import { adaptInputs } from './preprocess'

export interface SuggestFeaturesOptions extends PreprocessChoice {
  modelPath: string
  head?: string
  /** One sub-folder of support images per class; or give `sets`. */
  supportDir?: string
  sets?: { classes: { name: string; support: string[] }[] }
  threads?: number
  /** Images per body run while embedding. */
  batch?: number
  onProgress?: (done: number, total: number) => void
  throwIfCancelled?: () => void
}

/** fewshot.features: the model's candidate feature tensors, from the head it finds (or is named). */
export async function listFeatures(opts: { modelPath: string; head?: string; size?: PreprocessChoice['size'] }): Promise<FeaturesResult> {
  const { model } = await adaptInputs(await LoadedModel.open(resolve(opts.modelPath)), { size: opts.size })
  const head = findHead(model, opts.head)
  return featuresResult(model, head, featureCandidates(model, head))
}

function featuresResult(model: LoadedModel, head: ClassifierHead, candidates: FeatureTensor[]): FeaturesResult {
  return {
    model: model.path,
    head: { node: head.node.name, op: head.node.opType, width: head.featureDim, classes: head.numClasses },
    candidates: candidates.map(({ flatten: _flatten, ...c }) => c)
  }
}

/** Support images each class needs: one is left out, and the rest must still make a centroid. */
const MIN_SUPPORT = 2

/**
 * Ranks the model's candidate feature tensors on a support set by leave-one-out nearest-centroid
 * accuracy: each support image is classified by the nearest class mean of the others (its own
 * class's mean without it). All candidates are embedded in one onnxruntime run per batch (their
 * embeddings cached, so adapting afterwards reuses them). Nothing is applied: the caller picks.
 */
export async function suggestFeatures(opts: SuggestFeaturesOptions): Promise<FeatureSuggestion> {
  const { model, preprocess } = await adaptInputs(await LoadedModel.open(resolve(opts.modelPath)), opts)
  const head = findHead(model, opts.head)
  const candidates = featureCandidates(model, head)
  const { classes, files } = await suggestSupportFiles(opts)
  const labels = files.flatMap((list, c) => list.map(() => c))
  const before = embeddingCacheStats()
  const t0 = performance.now()
  const embedded = await embedTensors(model, head, candidates, files.flat(), {
    preprocess,
    threads: opts.threads,
    batch: opts.batch,
    throwIfCancelled: opts.throwIfCancelled,
    onProgress: opts.onProgress
  })
  const embeddingsMs = performance.now() - t0
  const after = embeddingCacheStats()
  const t1 = performance.now()
  const scored: FeatureScore[] = candidates.map(({ flatten: _flatten, ...c }, t) => {
    const correct = leaveOneOutCorrect(
      embedded[t].map((e) => e.features),
      labels,
      classes.length
    )
    return { ...c, accuracy: correct / labels.length, correct, total: labels.length }
  })
  // Best first; among equals the automatic choice, then the candidates' own order (backbone first).
  const ranking = scored
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.accuracy - a.s.accuracy || Number(b.s.auto) - Number(a.s.auto) || a.i - b.i)
    .map(({ s }) => s)
  return {
    ...featuresResult(model, head, candidates),
    classes,
    supportCounts: files.map((f) => f.length),
    images: labels.length,
    ranking,
    ms: { embeddings: embeddingsMs, ranking: performance.now() - t1 },
    embeddings: { computed: after.computed - before.computed, reused: after.reused - before.reused }
  }
}

/**
 * How many rows are nearest (squared Euclidean) to their own class's centroid when that centroid
 * leaves the row out. Class sums make each left-out centroid (S_y - x) / (n_y - 1) without a pass
 * over the other rows; ties go to the lower class number.
 */
export function leaveOneOutCorrect(rows: Float32Array[], labels: number[], ways: number): number {
  const f = rows[0]?.length ?? 0
  const sums = Array.from({ length: ways }, () => new Float64Array(f))
  const counts = new Float64Array(ways)
  rows.forEach((x, i) => {
    counts[labels[i]]++
    for (let j = 0; j < f; j++) sums[labels[i]][j] += x[j]
  })
  let correct = 0
  rows.forEach((x, i) => {
    const y = labels[i]
    let best = -1
    let bestD = Infinity
    for (let c = 0; c < ways; c++) {
      const n = c === y ? counts[c] - 1 : counts[c]
      if (n < 1) continue
      let d = 0
      for (let j = 0; j < f; j++) {
        const mean = (c === y ? sums[c][j] - x[j] : sums[c][j]) / n
        d += (x[j] - mean) ** 2
      }
      if (d < bestD) {
        bestD = d
        best = c
      }
    }
    if (best === y) correct++
  })
  return correct
}

/** The support files per class, from `sets` or a folder of class sub-folders; every class needs MIN_SUPPORT images. */
export async function suggestSupportFiles(opts: Pick<SuggestFeaturesOptions, 'sets' | 'supportDir'>): Promise<{ classes: string[]; files: string[][] }> {
  let classes: string[]
  let files: string[][]
  const field = opts.sets ? 'sets' : 'supportDir'
  if (opts.sets) {
    classes = opts.sets.classes.map((c) => c.name.trim())
    files = opts.sets.classes.map((c) => c.support.map((f) => resolve(f)))
    const dup = classes.find((c, i) => classes.indexOf(c) !== i)
    if (dup !== undefined) throw new ApiError('invalid-arguments', `Two few-shot classes are named "${dup}"; give each class its own name.`, undefined, { field, constraint: 'duplicate', value: dup })
    if (classes.length < 2) {
      throw new ApiError('invalid-arguments', `Ranking feature tensors needs at least 2 classes; the set has ${classes.length}.`, undefined, { field, constraint: 'min-classes', min: 2, count: classes.length })
    }
  } else {
    const listed = await listClassFolders(resolve(opts.supportDir!))
    classes = listed.classes.map((c) => c.name)
    files = listed.classes.map((c) => c.files)
  }
  const short = classes.flatMap((name, c) => (files[c].length < MIN_SUPPORT ? [{ name, support: files[c].length }] : []))
  if (short.length) {
    const list = short.map((c) => `"${c.name}" has ${c.support}`).join(', ')
    throw new ApiError(
      'out-of-range',
      `Too few support images to rank feature tensors: class ${list}; leaving one out needs at least ${MIN_SUPPORT} support images in every class.`,
      opts.supportDir ? resolve(opts.supportDir) : undefined,
      { field, constraint: 'min-support', min: MIN_SUPPORT, classes: short }
    )
  }
  return { classes, files }
}
