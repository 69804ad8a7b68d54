import { ApiError } from '../../../../shared/errors'
import type { AdaptPreprocess } from '../../../../shared/fewshot'
import type { AddClassesReport, OldClassPrediction } from '../../../../shared/fewshot-add'
import { folderSafe, matchLabels } from '../../model/labels'
import type { LoadedModel } from '../../model/loaded-model'
import { probabilitiesFrom, type ScoreActivation } from '../../model/scores'
import type { AdaptResult } from './adapt'
import { modelSha256, type Embedding } from './embed'
import { resolveFeatures, type FeatureTensor } from './features'
import { findHead, headValues, type ClassifierHead } from './head'
import type { HeadWeights } from './head-net'
import { imprintHead } from './imprint'
import { loadOldImages, type OldImages } from './old-images'
import { headLogits, type AdaptPrediction, type Scored } from './predict'
import { classLabels, type SetFiles } from './sets'
import type { AdaptCall } from './settings'

/**
 * Add mode of fewshot.adapt ("keep the old classes"): the written head is the model's own rows,
 * unchanged, plus one imprinted row per new class (imprint.ts), on the input of the model's last
 * linear layer, where the old rows live. Reports new-class accuracy, old-class accuracy before and
 * after when old-class images are given, and a proxy without them (docs/fewshot-adapt.md).
 */

/** What the adapted model's writer needs to know in add mode (write.ts). */
export interface AddedClasses {
  /** All labels of the written model: the old ones, then the new classes. */
  labels: string[]
  /** Folder names for those labels: the model's own label folders (or folder-safe labels), then the new names. */
  labelFolders: string[]
  /** The model's output activation, applied to the new scores as to the old ones. */
  activation: ScoreActivation
  /** How many of the rows are the model's own (the first ones). */
  oldClasses: number
  report: AddClassesReport
}

/**
 * The features add mode works on: the head's input, where the old rows apply. Another tensor named
 * in `features` is refused (a new head there would have no old rows to keep).
 */
export function addModeFeatures(model: LoadedModel, head: ClassifierHead, named: string | undefined): FeatureTensor {
  if (named !== undefined && named !== '' && named !== head.features) {
    throw new ApiError(
      'invalid-arguments',
      `Adding classes keeps the rows of ${model.file}'s last linear layer (${head.node.name}), which read ${head.features}; the features "${named}" have no old rows to keep. Leave features out to add classes, or replace the classifier (mode 'replace') to adapt on ${named}.`,
      model.path,
      { field: 'features', constraint: 'add-mode-head-input', value: named, headInput: head.features }
    )
  }
  return resolveFeatures(model, head, head.features)
}

/** The head add mode extends must be the model's own last classifier: its outputs are the model's classes. */
function checkFinalHead(model: LoadedModel, head: ClassifierHead, named: string | undefined): void {
  let auto: ClassifierHead | null
  try {
    auto = findHead(model)
  } catch {
    auto = null
  }
  const final = auto?.node === head.node && head.numClasses === model.numClasses
  if (final) return
  throw new ApiError(
    'invalid-arguments',
    `Adding classes extends the last linear layer of ${model.file}, whose ${model.numClasses} outputs are its classes; ${named ? `the head "${named}" (${head.node.name}, ${head.numClasses} outputs) is not that layer` : 'no such layer was found'}. Leave head out, or replace the classifier (mode 'replace').`,
    model.path,
    { field: 'head', constraint: 'add-mode-final-layer', ...(named ? { value: named } : {}) }
  )
}

/** The model's label folder names, or the labels made folder-safe. */
function oldFolders(model: LoadedModel): string[] {
  let folders: unknown = null
  try {
    folders = JSON.parse(model.summary.metadata['metascope.label_folders'] ?? 'null')
  } catch {
    folders = null
  }
  return Array.from({ length: model.numClasses }, (_, i) => (Array.isArray(folders) && typeof folders[i] === 'string' ? folders[i] : folderSafe(model.labelOf(i))))
}

/** A new class may not be named like one of the model's classes: its images would be that class's. */
function checkNewNames(model: LoadedModel, classes: string[], oldLabels: string[], field: 'sets' | 'supportDir'): void {
  const clash = classes.find((c) => matchLabels(model, [c]) !== null || oldLabels.includes(c))
  if (clash === undefined) return
  const oldField = field === 'sets' ? 'oldClasses' : 'oldDir'
  throw new ApiError(
    'invalid-arguments',
    `The new class "${clash}" is already a class of ${model.file}; adding classes adds classes it does not have. Images of its own classes go in ${oldField}, where they measure old-class accuracy.`,
    undefined,
    { field, constraint: 'old-label', value: clash, labels: oldLabels }
  )
}

/** Scores of all K + N classes for one feature row, and the top one, with the model's activation. */
function classify(head: HeadWeights, x: Float32Array, activation: ScoreActivation): { top: number; probability: number } {
  const logits = headLogits(head, x)
  let top = 0
  for (let c = 1; c < logits.length; c++) if (logits[c] > logits[top]) top = c
  // A sigmoid model scores each class alone; the others' scores are a softmax of the logits.
  const probability = activation === 'sigmoid' ? 1 / (1 + Math.exp(-logits[top])) : probabilitiesFrom(logits, 'none')[top]
  return { top, probability: Math.fround(probability) }
}

export interface EmbeddedImages {
  support: Embedding[]
  query: Embedding[]
  ms: number
  counts: { computed: number; reused: number }
}

export interface AddClassesInput {
  model: LoadedModel
  head: ClassifierHead
  features: FeatureTensor
  call: AdaptCall
  sets: SetFiles
  preprocess: AdaptPreprocess
  /** Embeds support and query images (cached), as the replace mode does. */
  embed: (support: string[], query: string[]) => Promise<EmbeddedImages>
  onProgress?: (p: { stage: 'embeddings' | 'adaptation'; done: number; total: number }) => void
  throwIfCancelled?: () => void
}

/** Checks an add-mode call against the model before anything is embedded. */
export async function planAddClasses(model: LoadedModel, head: ClassifierHead, call: AdaptCall, classes: string[]): Promise<OldImages | null> {
  checkFinalHead(model, head, call.head)
  const oldLabels = Array.from({ length: model.numClasses }, (_, i) => model.labelOf(i))
  checkNewNames(model, classes, oldLabels, call.sets ? 'sets' : 'supportDir')
  return loadOldImages(model, call)
}

/** Adds the support set's classes to the model's own (see the module comment). */
export async function addClasses(input: AddClassesInput): Promise<AdaptResult> {
  const { model, head, features, call, sets } = input
  const { classes, sFiles, qFiles } = sets
  const old = await planAddClasses(model, head, call, classes)
  const k = model.numClasses
  const oldLabels = Array.from({ length: k }, (_, i) => model.labelOf(i))
  const labels = [...oldLabels, ...classes]
  const oldFiles = old?.files.flat() ?? []
  const queryFiles = qFiles.flat()
  const embedded = await input.embed(sFiles.flat(), [...queryFiles, ...oldFiles])
  input.throwIfCancelled?.()

  const t0 = performance.now()
  const supportLabels = classLabels(sFiles)
  const original = headValues(model, head)
  const { head: adapted, scale, losses } = imprintHead(
    original,
    embedded.support.map((e) => e.features),
    supportLabels,
    classes,
    head.featureDim,
    call.steps,
    call.innerRate
  )
  const adaptationMs = performance.now() - t0
  input.onProgress?.({ stage: 'adaptation', done: 1, total: 1 })

  const activation = head.activation
  const scored = (e: Embedding): { before: Scored; after: Scored } => {
    const { top, probability } = classify(adapted, e.features, activation)
    return { before: { index: e.top1, label: model.labelOf(e.top1), probability: e.probability }, after: { index: top, label: labels[top], probability } }
  }
  const queryEmbedded = embedded.query.slice(0, queryFiles.length)
  const queryLabels = classLabels(qFiles)
  const predictions = queryEmbedded.map((e, i): AdaptPrediction => {
    const s = scored(e)
    return { file: queryFiles[i], trueClass: classes[queryLabels[i]], ...s, correctBefore: null, correctAfter: s.after.index === k + queryLabels[i] }
  })
  const rate = (hits: number, of: number) => hits / Math.max(1, of)
  const accuracyAfter = rate(predictions.filter((p) => p.correctAfter).length, predictions.length)
  const kept = predictions.filter((p) => p.after.index === p.before.index).length
  const toTrue = predictions.filter((p) => p.correctAfter).length
  const report: AddClassesReport = {
    oldLabels,
    labels,
    rowScale: scale,
    newAccuracy: accuracyAfter,
    old: old ? oldClassScores(old, embedded.query.slice(queryFiles.length), scored, model) : null,
    proxy: { images: predictions.length, kept, toTrueClass: toTrue, toOtherNewClass: predictions.length - kept - toTrue, agreement: rate(kept, predictions.length) }
  }
  const added: AddedClasses = { labels, labelFolders: [...oldFolders(model), ...classes], activation, oldClasses: k, report }
  const risen = losses.length >= 2 && losses[losses.length - 1] > losses[0]
  return {
    model,
    modelSha256: modelSha256(model),
    head,
    features,
    method: 'imprint',
    mode: 'add',
    added,
    steps: call.steps,
    innerRate: call.innerRate,
    trainedParameters: call.steps > 0 ? head.featureDim * classes.length : 0,
    classes,
    supportCounts: sFiles.map((x) => x.length),
    queryCounts: qFiles.map((x) => x.length),
    adapted,
    predictions,
    accuracyBefore: null,
    accuracyAfter,
    supportLoss: losses,
    preprocess: input.preprocess,
    ms: { embeddings: embedded.ms, adaptation: adaptationMs },
    embeddings: embedded.counts,
    provider: 'cpu',
    warnings: [
      ...sets.warnings,
      ...(old?.warnings ?? []),
      ...(risen
        ? [{ file: model.path, message: `The support loss rose while refining the new rows (${losses[0].toPrecision(3)} -> ${losses[losses.length - 1].toPrecision(3)}); a smaller inner learning rate than ${call.innerRate} may refine better.` }]
        : [])
    ]
  }
}

/** Old-class images before (the original model) and after (all labels), overall and per class. */
function oldClassScores(old: OldImages, embedded: Embedding[], scored: (e: Embedding) => { before: Scored; after: Scored }, model: LoadedModel): NonNullable<AddClassesReport['old']> {
  const files = old.files.flat()
  const truth = old.files.flatMap((list, c) => list.map(() => c))
  const predictions: OldClassPrediction[] = embedded.map((e, i) => {
    const s = scored(e)
    const index = old.classes[truth[i]].index
    return { file: files[i], trueClass: old.classes[truth[i]].name, ...s, correctBefore: s.before.index === index, correctAfter: s.after.index === index }
  })
  const share = (list: OldClassPrediction[], key: 'correctBefore' | 'correctAfter') => list.filter((p) => p[key]).length / Math.max(1, list.length)
  return {
    images: predictions.length,
    accuracyBefore: share(predictions, 'correctBefore'),
    accuracyAfter: share(predictions, 'correctAfter'),
    classes: old.classes.map((c, n) => {
      const mine = predictions.filter((_, i) => truth[i] === n)
      return { name: c.name, label: model.labelOf(c.index), images: mine.length, accuracyBefore: share(mine, 'correctBefore'), accuracyAfter: share(mine, 'correctAfter') }
    }),
    predictions
  }
}
