import { onnx } from 'onnx-proto'
import { ApiError } from '../../../../../shared/errors'
import { maxOf, minOf } from '../../../../../shared/stats'
import { seededRandom, type Random } from '../../../data/random'
import type { Preprocess } from '../../../data/preprocess-spec'
import { floatTensor, OrtSession, type Feeds } from '../../../exec/ort'
import { GraphBuilder } from '../../../onnx/builder'
import { liftInitializers } from '../../../onnx/graph-edit'
import type { LoadedModel } from '../../../model/loaded-model'
import { Adam } from '../../../train/adam'
import { readParams } from '../../../train/params'
import { oneHot } from '../../data/batch'
import { argmaxRows } from '../../runner'
import { QUERY, QUERY_LABELS } from '../../unroll'
import type { HeadFeatures, HeadWeights } from '../head-net'
import { augmentView, checkAugmentable } from './augment'
import { lastBlocks } from './blocks'
import { compileTrainingGraph, TAIL_BIAS, TAIL_FEATURES, TAIL_INPUT, TAIL_LOGITS, TAIL_WEIGHT, tailNet } from './tail'

/** Views per support image when augmenting: the image itself and this many minus one augmented copies. */
export const AUGMENTED_VIEWS = 4

/** One step of deep adaptation: 'validation' while choosing the step count on held-out images, then 'final'. */
export interface DeepStep {
  phase: 'validation' | 'final'
  step: number
  supportLoss: number
  /** Validation phase: the held-out images' loss after this step. */
  heldOutLoss?: number
}

export interface DeepAdaptSpec {
  model: LoadedModel
  features: HeadFeatures
  preprocess: Preprocess
  /** Blocks fine-tuned, counted from the features back (lastBlocks). */
  depth: number
  /** Preprocessed images ([C*H*W] each, in the model's layout) and their class indices. */
  support: Float32Array[]
  supportLabels: Int32Array
  query: Float32Array[]
  ways: number
  /** The head the fine-tuning starts from, adapted head-only on these features and labels (the chosen method). */
  initHead: (features: Float32Array[], labels: Int32Array) => Promise<HeadWeights>
  /** Most fine-tuning steps (Adam, full batch of support views); early stopping may take fewer. */
  steps: number
  rate: number
  augment: boolean
  seed: number
  earlyStop: boolean
  threads?: number
  onStep?: (s: DeepStep) => void
  throwIfCancelled?: () => void
}

export interface DeepAdapted {
  head: HeadWeights
  /** The fine-tuned block weights, by the model's own initializer names. */
  weights: Map<string, Float32Array>
  blocks: string[]
  /** The query images' features after fine-tuning (the head's input). */
  queryFeatures: Float32Array[]
  /** Support loss before each final step. */
  supportLoss: number[]
  /** Steps of the final run: chosen by early stopping, else the steps asked for. */
  steps: number
  /** Early stopping's held-out loss after 0..steps validation steps; null without it (fewer than 2 shots in a class, or turned off). */
  heldOutLoss: number[] | null
  trainedParameters: number
  cut: string
  views: number
  ms: { frozen: number; training: number }
  provider: string
}

/**
 * Fine-tunes the last `depth` blocks of the body and a new head on the support set (docs/fewshot-adapt.md,
 * "Deeper adaptation"). The frozen part runs once per support view (and once per query image) up to
 * the cut tensor; training runs only the tail (cut -> features -> head -> softmax cross-entropy), one
 * onnxruntime run per Adam step returning the loss and every trainable weight's gradient. BatchNorm
 * stays in inference mode, its statistics and affine frozen. Early stopping: with two or more shots in
 * every class, one support image per class (seeded pick) is held out, the tail trains on the rest for
 * `steps` steps while the held-out loss is measured after each, and the final run on the whole
 * support set takes the step count with the lowest held-out loss (0: the head-only start is kept).
 */
export async function deepAdapt(spec: DeepAdaptSpec): Promise<DeepAdapted> {
  const { model } = spec
  if (spec.augment) checkAugmentable(spec.preprocess, model.file, model.path)
  const cut = lastBlocks(model, spec.features.tensor, spec.depth)
  const rng = seededRandom(spec.seed)
  const views = spec.augment ? AUGMENTED_VIEWS : 1
  const t0 = performance.now()
  const supportViews = spec.support.map((x) => [x, ...Array.from({ length: views - 1 }, () => augmentView(x, spec.preprocess, rng))])
  const frozen = await cutActivations(model, cut.cut, [...supportViews.flat(), ...spec.query], spec.threads, spec.throwIfCancelled)
  const supportCut = spec.support.map((_, i) => frozen.slice(i * views, (i + 1) * views))
  const queryCut = frozen.slice(spec.support.length * views)
  const frozenMs = performance.now() - t0

  const t1 = performance.now()
  const original = readParams(model.model, cut.trainable)
  const placeholder = { weight: new Float32Array(spec.ways * spec.features.width), bias: new Float32Array(spec.ways) }
  const net = tailNet(model, cut.cut, cut.cutShape, spec.features, placeholder, cut.trainable)
  const infer = await TailInference.create(net.model, net.params, cut.cutShape, spec.threads)
  try {
    const all = spec.support.map((_, i) => i)
    const heldOut = spec.earlyStop ? holdOut(spec.supportLabels, spec.ways, rng) : null
    let steps = spec.steps
    let heldOutLoss: number[] | null = null
    let scale = 1
    if (heldOut) {
      const train = all.filter((i) => !heldOut.includes(i))
      const run = await trainTail(spec, net, infer, original, supportCut, train, spec.steps, rng, 'validation', 1, { rows: heldOut, cut: heldOut.flatMap((i) => supportCut[i]) })
      heldOutLoss = run.heldOutLoss
      steps = heldOutLoss.indexOf(minOf(heldOutLoss))
      scale = run.scale
    }
    const final = await trainTail(spec, net, infer, original, supportCut, all, steps, rng, 'final', scale)
    const out = await infer.run(queryCut, final.params)
    const head = { weight: final.params.get(TAIL_WEIGHT)!, bias: final.params.get(TAIL_BIAS)! }
    if (![head.weight, head.bias, ...final.params.values()].every((a) => a.every(Number.isFinite))) {
      throw new ApiError('out-of-range', `Fine-tuning the last ${spec.depth} blocks diverged (support loss ${final.losses.map((l) => l.toPrecision(3)).join(' -> ')}); use a smaller rate than ${spec.rate}.`, model.path, { field: 'deepRate', value: spec.rate })
    }
    return {
      head,
      weights: new Map(cut.trainable.map((n) => [n, final.params.get(n)!])),
      blocks: cut.blocks.map((b) => b.name),
      queryFeatures: out.features,
      supportLoss: final.losses,
      steps,
      heldOutLoss,
      trainedParameters: steps > 0 ? net.params.reduce((s, p) => s + final.params.get(p)!.length, 0) : 0,
      cut: cut.cut,
      views,
      ms: { frozen: frozenMs, training: performance.now() - t1 },
      provider: infer.provider
    }
  } finally {
    await infer.release()
  }
}

/** One support image per class, drawn with `rng`; null unless every class has at least two. */
function holdOut(labels: Int32Array, ways: number, rng: Random): number[] | null {
  const byClass = Array.from({ length: ways }, (_, c) => [...labels.keys()].filter((i) => labels[i] === c))
  if (byClass.some((rows) => rows.length < 2)) return null
  return byClass.map((rows) => rows[rng.int(rows.length)])
}

type Params = Map<string, Float32Array>

interface TailRun {
  params: Params
  losses: number[]
  heldOutLoss: number[]
  /** The starting head's temperature. */
  scale: number
}

/**
 * Adam on the tail's weights over the support rows `rows` for `steps` steps, starting from the
 * model's block weights and a head adapted head-only on those rows' features. Each step feeds every
 * row once, as one of its views drawn with `rng` (view 0, the image itself, without augmentation).
 */
async function trainTail(
  spec: DeepAdaptSpec,
  net: ReturnType<typeof tailNet>,
  infer: TailInference,
  original: Map<string, { dims: number[]; data: Float32Array }>,
  supportCut: Float32Array[][],
  rows: number[],
  steps: number,
  rng: Random,
  phase: DeepStep['phase'],
  scale: number,
  held?: { rows: number[]; cut: Float32Array[] }
): Promise<TailRun> {
  const params: Params = new Map([...original].map(([n, t]) => [n, Float32Array.from(t.data)]))
  // Any head will do to read the features the starting head is adapted on.
  params.set(TAIL_WEIGHT, new Float32Array(spec.ways * spec.features.width))
  params.set(TAIL_BIAS, new Float32Array(spec.ways))
  const labels = Int32Array.from(rows, (i) => spec.supportLabels[i])
  const start = await infer.run(rows.map((i) => supportCut[i][0]), params)
  const head = await spec.initHead(start.features, labels)
  params.set(TAIL_WEIGHT, Float32Array.from(head.weight))
  params.set(TAIL_BIAS, Float32Array.from(head.bias))
  const heldLabels = held ? Int32Array.from(held.cut, (_, k) => spec.supportLabels[held.rows[Math.floor(k / (held.cut.length / held.rows.length))]]) : null
  // The head fits its own support rows with near-certain scores (no gradient left for the blocks):
  // it starts scaled by a temperature, the one that fits the held-out images best when there are some.
  if (held) scale = calibratedLoss((await infer.run(held.cut, params)).logits, heldLabels!, spec.ways).scale
  params.set(TAIL_WEIGHT, params.get(TAIL_WEIGHT)!.map((v) => v * scale))
  params.set(TAIL_BIAS, params.get(TAIL_BIAS)!.map((v) => v * scale))
  // Each step is judged at its own best temperature, so the start (whose temperature was fitted here) is not favoured.
  const heldLoss = async () => (held ? calibratedLoss((await infer.run(held.cut, params)).logits, heldLabels!, spec.ways).loss : NaN)
  const heldOutLoss = held ? [await heldLoss()] : []
  const losses: number[] = []
  if (steps === 0) return { params, losses, heldOutLoss, scale }
  const [c, h, w] = net.inputChw
  const per = c * h * w
  const graph = await compileTrainingGraph({ model: net.model, inputName: net.inputName, inputChw: net.inputChw, logitsName: net.logitsName, classes: spec.ways, batch: rows.length, trainable: net.params })
  const session = await OrtSession.create(graph.bytes, 'deep adaptation', spec.threads ? { intraOpThreads: spec.threads } : {})
  try {
    const adam = new Adam(net.params.map((p) => params.get(p)!.length), { lr: spec.rate })
    const batch = new Float32Array(rows.length * per)
    const labelTensor = floatTensor(oneHot(labels, spec.ways), [rows.length, spec.ways])
    for (let step = 0; step < steps; step++) {
      spec.throwIfCancelled?.()
      rows.forEach((r, i) => {
        const views = supportCut[r]
        batch.set(views[views.length > 1 ? rng.int(views.length) : 0], i * per)
      })
      const feeds: Feeds = { [QUERY]: floatTensor(batch, [rows.length, c, h, w]), [QUERY_LABELS]: labelTensor }
      for (const p of net.params) feeds[p] = floatTensor(params.get(p)!, original.get(p)?.dims ?? (p === TAIL_WEIGHT ? [spec.ways, spec.features.width] : [spec.ways]))
      const out = await session.run(feeds)
      const loss = Number((out[graph.queryLoss].data as Float32Array)[0])
      losses.push(loss)
      adam.step(
        net.params.map((p) => params.get(p)!),
        graph.grads.map((g) => out[g].data as Float32Array)
      )
      const item: DeepStep = { phase, step, supportLoss: loss }
      if (held) {
        item.heldOutLoss = await heldLoss()
        heldOutLoss.push(item.heldOutLoss)
      }
      spec.onStep?.(item)
    }
  } finally {
    await session.release()
  }
  return { params, losses, heldOutLoss, scale }
}

/** Temperatures tried for the starting head: 1, 1/2, ..., 1/1024. */
const SCALES = Array.from({ length: 11 }, (_, i) => 2 ** -i)

/** The scale of the logits with the lowest cross-entropy on held-out rows, and that loss. */
function calibratedLoss(logits: Float32Array, labels: Int32Array, ways: number): { scale: number; loss: number } {
  const losses = SCALES.map((s) => crossEntropy(logits.map((v) => v * s), labels, ways))
  const best = losses.indexOf(minOf(losses))
  return { scale: SCALES[best], loss: losses[best] }
}

/** Mean softmax cross-entropy of rows of logits [n, ways] against class indices. */
function crossEntropy(logits: Float32Array, labels: Int32Array, ways: number): number {
  let total = 0
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * ways, (i + 1) * ways)
    const max = maxOf(row)
    let sum = 0
    for (const v of row) sum += Math.exp(v - max)
    total += Math.log(sum) + max - row[labels[i]]
  }
  return total / Math.max(1, labels.length)
}

/** The tail with its trainable weights as inputs and an open batch axis: features and logits at any weights. */
class TailInference {
  private constructor(
    private readonly session: OrtSession,
    private readonly dims: Map<string, number[]>,
    private readonly cutShape: number[]
  ) {}

  static async create(tail: onnx.ModelProto, trainable: string[], cutShape: number[], threads?: number): Promise<TailInference> {
    const lifted = liftInitializers(tail, trainable)
    const dims = new Map([...lifted.values].map(([n, v]) => [n, v.dims]))
    const session = await OrtSession.create(onnx.ModelProto.encode(lifted.model).finish(), 'deep adaptation tail', threads ? { intraOpThreads: threads } : {})
    return new TailInference(session, dims, cutShape)
  }

  get provider(): string {
    return this.session.provider
  }

  /** Logits and features of cut activations `rows` at the weights `params`. */
  async run(rows: Float32Array[], params: Params): Promise<{ logits: Float32Array; features: Float32Array[]; predictions: Int32Array }> {
    const per = this.cutShape.reduce((p, d) => p * d, 1)
    const data = new Float32Array(rows.length * per)
    rows.forEach((r, i) => data.set(r, i * per))
    const feeds: Feeds = { [TAIL_INPUT]: floatTensor(data, [rows.length, ...this.cutShape]) }
    for (const [n, d] of this.dims) feeds[n] = floatTensor(params.get(n)!, d)
    const out = await this.session.run(feeds)
    const logits = out[TAIL_LOGITS].data as Float32Array
    const feats = out[TAIL_FEATURES].data as Float32Array
    const f = feats.length / Math.max(1, rows.length)
    const ways = logits.length / Math.max(1, rows.length)
    return { logits, features: rows.map((_, i) => feats.slice(i * f, (i + 1) * f)), predictions: argmaxRows(logits, ways) }
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

/** The cut tensor of every image (one [C*H*W] row each), from one session over the frozen part, batched. */
async function cutActivations(model: LoadedModel, cut: string, images: Float32Array[], threads?: number, throwIfCancelled?: () => void): Promise<Float32Array[]> {
  const b = new GraphBuilder(model.model)
  b.setOutputs([cut])
  const session = await OrtSession.create(b.encode(), model.path, threads ? { intraOpThreads: threads } : {})
  const per = model.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
  const batch = model.dynamicBatch ? 16 : model.fixedBatch
  const out: Float32Array[] = []
  try {
    for (let start = 0; start < images.length; start += batch) {
      throwIfCancelled?.()
      const chunk = images.slice(start, start + batch)
      const n = model.dynamicBatch ? chunk.length : batch
      const data = new Float32Array(n * per)
      chunk.forEach((x, i) => data.set(x, i * per))
      const res = await session.run({ [model.inputName]: floatTensor(data, model.inputDims(n)) })
      const acts = res[cut].data as Float32Array
      const f = acts.length / n
      chunk.forEach((_, i) => out.push(acts.slice(i * f, (i + 1) * f)))
    }
  } finally {
    await session.release()
  }
  return out
}
