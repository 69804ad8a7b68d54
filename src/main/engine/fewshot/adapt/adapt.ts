import { basename, join, resolve } from 'node:path'
import { ApiError } from '../../../../shared/errors'
import { ADAPT_METHOD_NAMES, type FewshotMethod } from '../../../../shared/fewshot'
import { expandImagePaths } from '../../data/images'
import { loadDisplayImage } from '../../data/preprocess'
import { LoadedModel } from '../../model/loaded-model'
import { folderSafe, matchLabels } from '../../model/labels'
import { readParams } from '../../train/params'
import type { EpisodeBatch } from '../data/batch'
import { supportQueryFolders, type FolderWarning } from '../data/folder'
import { seededRandom } from '../../data/random'
import { METHODS } from '../methods'
import { EpisodeRunner } from '../runner'
import { embedFiles, embeddingCacheStats, modelSha256, softmax, type Embedding } from './embed'
import { findHead, headValues, type ClassifierHead } from './head'
import { featuresHeadNet, HEAD_BIAS, HEAD_WEIGHT, type HeadWeights } from './head-net'
import { minOf } from '../../../../shared/stats'

/** Methods that adapt the head alone on cached embeddings. */
export const ADAPT_METHODS = ADAPT_METHOD_NAMES
export type AdaptMethod = (typeof ADAPT_METHODS)[number]

/** docs/fewshot.md's inner rate; measured stable on pretrained bodies' features (docs/fewshot-adapt.md). */
export const DEFAULT_INNER_RATE = 0.1
export const DEFAULT_STEPS = 10

/** Explicit few-shot sets: each class's support and query image files (the app's few-shot board). */
export interface ExplicitSets {
  classes: { name: string; support: string[]; query: string[] }[]
}

export interface AdaptOptions {
  modelPath: string
  /** Folders with one sub-folder per class; or give `sets`. */
  supportDir?: string
  queryDir?: string
  /** Explicit support and query files per class, instead of supportDir / queryDir. */
  sets?: ExplicitSets
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

export interface Scored {
  index: number
  label: string
  probability: number
}

export interface AdaptPrediction {
  file: string
  trueClass: string
  before: Scored
  after: Scored
  /** Null when the class names are not the model's labels (then "before" cannot be right or wrong). */
  correctBefore: boolean | null
  correctAfter: boolean
}

export interface AdaptResult {
  model: LoadedModel
  modelSha256: string
  head: ClassifierHead
  method: AdaptMethod
  steps: number
  innerRate: number
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

const FULL_NETWORK = new Set(['maml', 'fomaml', 'metasgd'])

function checkMethod(method: string): AdaptMethod {
  if ((ADAPT_METHODS as readonly string[]).includes(method)) return method as AdaptMethod
  if (FULL_NETWORK.has(method)) {
    throw new ApiError(
      'unsupported',
      `The method ${method} adapts every weight of the network through the unrolled inner loop; adapting an imported model supports the head-only methods ${ADAPT_METHODS.join(', ')}, which run on embeddings computed once (Proto-MAML is the usual choice for a pretrained body).`,
      undefined,
      { field: 'method', constraint: 'head-only', value: method, allowed: [...ADAPT_METHODS] }
    )
  }
  throw new ApiError('invalid-arguments', `The method must be one of ${ADAPT_METHODS.join(', ')} (got "${method}").`, undefined, { field: 'method', constraint: 'enum', value: method, allowed: [...ADAPT_METHODS] })
}


/** The image files of each class, in the folder module's order, without the ones it could not read. */
async function classFiles(root: string, classes: string[], unreadable: Set<string>): Promise<string[][]> {
  return Promise.all(classes.map(async (c) => (await expandImagePaths([join(root, c)])).files.filter((f) => !unreadable.has(f))))
}

interface SetFiles {
  classes: string[]
  sFiles: string[][]
  qFiles: string[][]
  warnings: FolderWarning[]
}

/** Support and query files from two folders with the same class sub-folders. */
async function folderSetFiles(opts: AdaptOptions): Promise<SetFiles> {
  if (!opts.supportDir || !opts.queryDir) throw new ApiError('invalid-arguments', 'Give a support folder and a query folder, or explicit sets.')
  const [sRoot, qRoot] = [resolve(opts.supportDir), resolve(opts.queryDir)]
  // The folder module checks the two folders (class sub-folders, same names, readable images, at
  // least one image per class); its tiny decode only validates, the model's preprocessing comes next.
  const folders = await supportQueryFolders(sRoot, qRoot, { size: [1, 1], channels: 3, need: { ways: 2, shots: 1, queries: 1 } })
  const classes = folders.support.classes.map((c) => c.name)
  const unreadable = new Set(folders.warnings.map((w) => w.file))
  const [sFiles, qFiles] = await Promise.all([classFiles(sRoot, classes, unreadable), classFiles(qRoot, classes, unreadable)])
  return { classes, sFiles, qFiles, warnings: folders.warnings }
}

/**
 * Explicit sets, checked as the folder module checks folders: 2+ classes with distinct names, every
 * image readable (unreadable ones are skipped with a warning naming the class and file), and at least
 * one support and one query image per class (the error names each short class with its count, and
 * lists the unreadable images, as they may be why).
 */
export async function explicitSetFiles(sets: ExplicitSets, concurrency = 8): Promise<SetFiles> {
  const classes = sets.classes.map((c) => c.name.trim())
  const seen = new Set<string>()
  for (const name of classes) {
    if (!name) throw new ApiError('invalid-arguments', 'Every few-shot class needs a name.')
    if (seen.has(name)) throw new ApiError('invalid-arguments', `Two few-shot classes are named "${name}"; give each class its own name.`)
    seen.add(name)
  }
  const jobs = sets.classes.flatMap((c, n) => [...c.support.map((f) => ({ f, n })), ...c.query.map((f) => ({ f, n }))])
  const bad = new Map<string, string>()
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const { f, n } = jobs[next++]
      const file = resolve(f)
      if (bad.has(file)) continue
      try {
        await loadDisplayImage(file, [1, 1], 'stretch')
      } catch (err) {
        if (!(err instanceof ApiError) || (err.code !== 'bad-file' && err.code !== 'not-found')) throw err
        const base = basename(file)
        const rel = `${classes[n]}/${base}`
        bad.set(file, err.message.startsWith(base) ? rel + err.message.slice(base.length) : `${rel}: ${err.message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker))
  const warnings: FolderWarning[] = [...bad].map(([file, message]) => ({ file, message })).sort((a, b) => a.file.localeCompare(b.file))
  const keep = (files: string[]) => files.map((f) => resolve(f)).filter((f) => !bad.has(f))
  const sFiles = sets.classes.map((c) => keep(c.support))
  const qFiles = sets.classes.map((c) => keep(c.query))
  const unreadable = warnings.length ? ` ${warnings.length} image(s) could not be read: ${warnings.map((w) => w.message).join('; ')}.` : ''
  if (classes.length < 2) {
    const only = classes.length === 1 ? ` (only "${classes[0]}")` : ''
    throw new ApiError('invalid-arguments', `The few-shot set has ${classes.length} class${classes.length === 1 ? '' : 'es'}${only}; few-shot needs at least 2 classes.`)
  }
  const short = classes.flatMap((name, n) => (sFiles[n].length < 1 || qFiles[n].length < 1 ? [{ name, support: sFiles[n].length, query: qFiles[n].length }] : []))
  if (short.length) {
    const list = short.map((c) => `"${c.name}" has ${c.support} support and ${c.query} query image${c.query === 1 ? '' : 's'}`).join(', ')
    throw new ApiError('out-of-range', `Too few images: class ${list}; every class needs at least 1 support image and 1 query image.${unreadable}`, undefined, {
      needed: { support: 1, query: 1 },
      classes: short,
      ...(warnings.length ? { unreadable: warnings } : {})
    })
  }
  return { classes, sFiles, qFiles, warnings }
}

/** Class means of the support features, c_n, and the prototype head W_n = 2 c_n, b_n = -|c_n|^2. */
function prototypeHead(support: Float32Array[], labels: Int32Array, ways: number, f: number): HeadWeights {
  const sums = new Float64Array(ways * f)
  const counts = new Float64Array(ways)
  support.forEach((x, i) => {
    counts[labels[i]]++
    for (let j = 0; j < f; j++) sums[labels[i] * f + j] += x[j]
  })
  const weight = new Float32Array(ways * f)
  const bias = new Float32Array(ways)
  for (let n = 0; n < ways; n++) {
    let sq = 0
    for (let j = 0; j < f; j++) {
      const c = sums[n * f + j] / counts[n]
      weight[n * f + j] = 2 * c
      sq += c * c
    }
    bias[n] = -sq
  }
  return { weight, bias }
}

/**
 * ANIL's starting head: the original head's row for a class whose name is one of the model's labels,
 * otherwise PyTorch's default initialisation (uniform in +-1/sqrt(F)) from a fixed seed.
 */
function anilHead(model: LoadedModel, head: ClassifierHead, classes: string[]): HeadWeights {
  const f = head.featureDim
  const original = headValues(model, head)
  const labels = model.labels ?? []
  const random = seededRandom(0)
  const bound = 1 / Math.sqrt(f)
  const weight = new Float32Array(classes.length * f)
  const bias = new Float32Array(classes.length)
  classes.forEach((c, n) => {
    const i = labels.findIndex((l) => l === c || folderSafe(l) === c)
    for (let j = 0; j < f; j++) weight[n * f + j] = i >= 0 ? original.weight[i * f + j] : (random.float() * 2 - 1) * bound
    bias[n] = i >= 0 ? original.bias[i] : (random.float() * 2 - 1) * bound
  })
  return { weight, bias }
}

/** Stacks feature rows into one [rows * F] buffer. */
function stack(rows: Float32Array[], f: number): Float32Array {
  const out = new Float32Array(rows.length * f)
  rows.forEach((r, i) => out.set(r.subarray(0, f), i * f))
  return out
}

/** logits = W x + b for one feature row, as float64 sums. */
function headLogits(w: HeadWeights, x: Float32Array): Float64Array {
  const n = w.bias.length
  const f = x.length
  const out = new Float64Array(n)
  for (let c = 0; c < n; c++) {
    let s = w.bias[c]
    for (let j = 0; j < f; j++) s += w.weight[c * f + j] * x[j]
    out[c] = s
  }
  return out
}

/**
 * Adapts an imported, pretrained classifier to the classes of a support folder: embeds support and
 * query images once with the model's body (cached), adapts a new N-way head on those embeddings with
 * the chosen method's test-time graph, and scores the query images before (the original model) and
 * after (the adapted head).
 */
export async function adaptModel(opts: AdaptOptions): Promise<AdaptResult> {
  const method = checkMethod(opts.method ?? 'protomaml')
  const steps = opts.steps ?? DEFAULT_STEPS
  if (!Number.isInteger(steps) || steps < 0 || steps > 1000) throw new ApiError('invalid-arguments', `The number of steps must be a whole number from 0 to 1000 (got ${steps}).`, undefined, { field: 'steps', constraint: 'range', value: steps, min: 0, max: 1000 })
  const innerRate = opts.innerRate ?? DEFAULT_INNER_RATE
  if (!Number.isFinite(innerRate) || innerRate <= 0) throw new ApiError('invalid-arguments', `The inner learning rate must be a positive number (got ${innerRate}).`, undefined, { field: 'innerRate', constraint: 'positive', value: innerRate })

  const model = await LoadedModel.open(resolve(opts.modelPath))
  const head = findHead(model, opts.head)
  const { classes, sFiles, qFiles, warnings: loadWarnings } = opts.sets ? await explicitSetFiles(opts.sets) : await folderSetFiles(opts)
  const ways = classes.length

  const supportList = sFiles.flat()
  const queryList = qFiles.flat()
  const supportLabels = Int32Array.from(sFiles.flatMap((files, n) => files.map(() => n)))
  const queryLabels = Int32Array.from(qFiles.flatMap((files, n) => files.map(() => n)))

  const before = embeddingCacheStats()
  const t0 = performance.now()
  const all = [...supportList, ...queryList]
  const embedded = await embedFiles(model, head, all, {
    threads: opts.threads,
    batch: opts.batch,
    throwIfCancelled: opts.throwIfCancelled,
    onProgress: (done, total) => opts.onProgress?.({ stage: 'embeddings', done, total })
  })
  const embeddingsMs = performance.now() - t0
  const after = embeddingCacheStats()
  const support = embedded.slice(0, supportList.length)
  const query = embedded.slice(supportList.length)
  opts.throwIfCancelled?.()

  const t1 = performance.now()
  const { adapted, supportLoss, provider } = await adaptHead({
    model,
    head,
    method,
    classes,
    steps,
    innerRate,
    support: support.map((e) => e.features),
    supportLabels,
    query: query.map((e) => e.features),
    queryLabels,
    threads: opts.threads
  })
  const adaptationMs = performance.now() - t1
  opts.onProgress?.({ stage: 'adaptation', done: 1, total: 1 })

  const warnings = [...loadWarnings]
  if (supportLoss.length > 1 && !(supportLoss[supportLoss.length - 1] <= supportLoss[0])) {
    warnings.push({
      file: model.path,
      message: `The support loss rose during adaptation (${supportLoss[0].toPrecision(3)} -> ${supportLoss[supportLoss.length - 1].toPrecision(3)}); a smaller inner learning rate than ${innerRate} may adapt better.`
    })
  }
  const modelIndex = matchLabels(model, classes)
  const predictions = query.map((e: Embedding, i): AdaptPrediction => {
    const probs = softmax(headLogits(adapted, e.features))
    let top = 0
    for (let c = 1; c < ways; c++) if (probs[c] > probs[top]) top = c
    const truth = queryLabels[i]
    return {
      file: queryList[i],
      trueClass: classes[truth],
      before: { index: e.top1, label: model.labelOf(e.top1), probability: e.probability },
      after: { index: top, label: classes[top], probability: probs[top] },
      correctBefore: modelIndex ? e.top1 === modelIndex[truth] : null,
      correctAfter: top === truth
    }
  })
  const rate = (flags: boolean[]) => flags.filter(Boolean).length / Math.max(1, flags.length)
  return {
    model,
    modelSha256: modelSha256(model),
    head,
    method,
    steps,
    innerRate,
    classes,
    supportCounts: sFiles.map((x) => x.length),
    queryCounts: qFiles.map((x) => x.length),
    adapted,
    predictions,
    accuracyBefore: modelIndex ? rate(predictions.map((p) => p.correctBefore === true)) : null,
    accuracyAfter: rate(predictions.map((p) => p.correctAfter)),
    supportLoss,
    ms: { embeddings: embeddingsMs, adaptation: adaptationMs },
    embeddings: { computed: after.computed - before.computed, reused: after.reused - before.reused },
    provider,
    warnings
  }
}

export interface AdaptHeadSpec {
  model: LoadedModel
  head: ClassifierHead
  method: AdaptMethod
  classes: string[]
  steps: number
  innerRate: number
  support: Float32Array[]
  supportLabels: Int32Array
  query: Float32Array[]
  queryLabels: Int32Array
  threads?: number
}

/**
 * The head-only adaptation on embeddings, with the method's own test-time graph from the registry
 * (methods.ts, order 'none'), fed the embeddings as [B, F, 1, 1] "images" of the features head net.
 * Proto-MAML computes its prototype head in-graph from equal shots per class; with unequal shots the
 * prototypes (true per-class means) are computed here and the ANIL graph, which starts from given
 * head weights, takes the same steps. Prototypical networks have no steps: the prototype head
 * W_n = 2 c_n, b_n = -|c_n|^2 is their exact linear form (it differs from -|q - c_n|^2 by -|q|^2,
 * the same for every class, so the probabilities are the same).
 */
export async function adaptHead(spec: AdaptHeadSpec): Promise<{ adapted: HeadWeights; supportLoss: number[]; provider: string }> {
  const { head, method, classes, steps } = spec
  const ways = classes.length
  const f = head.featureDim
  const counts = new Int32Array(ways)
  spec.supportLabels.forEach((y) => counts[y]++)
  const equalShots = counts.every((c) => c === counts[0])
  if (method === 'protonet') return { adapted: prototypeHead(spec.support, spec.supportLabels, ways, f), supportLoss: [], provider: 'cpu' }

  let graphMethod: AdaptMethod = method
  let init: HeadWeights = { weight: new Float32Array(ways * f), bias: new Float32Array(ways) }
  if (method === 'anil') init = anilHead(spec.model, head, classes)
  else if (method === 'protomaml' && !equalShots) {
    init = prototypeHead(spec.support, spec.supportLabels, ways, f)
    graphMethod = 'anil'
  }
  // No steps from given weights: nothing to run (the unrolled graph would not declare the support set).
  if (steps === 0 && graphMethod === 'anil') return { adapted: init, supportLoss: [], provider: 'cpu' }
  const net = featuresHeadNet(f, init)
  const graph = await METHODS[graphMethod].graph({
    net,
    order: 'none',
    steps,
    alpha: spec.innerRate,
    ways,
    supportBatch: spec.support.length,
    queryBatch: spec.query.length
  })
  const runner = await EpisodeRunner.create(graph, `${method} head adaptation`, spec.threads)
  try {
    const batch: EpisodeBatch = {
      ways,
      shots: minOf(counts),
      queries: Math.ceil(spec.query.length / ways),
      support: stack(spec.support, f),
      query: stack(spec.query, f),
      supportLabels: spec.supportLabels,
      queryLabels: spec.queryLabels,
      imageShape: [f, 1, 1]
    }
    const params = readParams(net.model, METHODS[graphMethod].metaParams(net))
    const out = await runner.run(batch, params)
    const w = out.adapted.get(HEAD_WEIGHT)
    const b = out.adapted.get(HEAD_BIAS)
    if (!w || !b) throw new ApiError('internal', `The ${method} graph returned no adapted head.`)
    const adapted = { weight: Float32Array.from(w), bias: Float32Array.from(b) }
    if (!adapted.weight.every(Number.isFinite) || !adapted.bias.every(Number.isFinite)) {
      throw new ApiError(
        'out-of-range',
        `Adapting the head with ${method} diverged (support loss ${out.supportLosses.map((l) => l.toPrecision(3)).join(' -> ')}); use a smaller inner learning rate than ${spec.innerRate} or fewer steps.`
      )
    }
    return { adapted, supportLoss: out.supportLosses, provider: runner.provider }
  } finally {
    await runner.release()
  }
}
