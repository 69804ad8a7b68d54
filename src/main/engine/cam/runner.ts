import { ApiError } from '../../../shared/errors'
import { camMethodName } from '../../../shared/registry/cam-methods'
import { floatTensor, int64Tensor, OrtSession } from '../exec/ort'
import type { LoadedModel } from '../model/loaded-model'
import { buildActivationGraph, buildCamGraph, buildScoresGraph, TARGET_INPUT, type CamGraph } from './graph'
import { buildTailGraph, type TailGraph } from './tail-graph'
import { combineLayers, layerList } from './multi-layer'
import { resolveLayer } from '../model/layers'
import { camMethod, type CamMethod } from './methods'
import { minMaxNormalize } from './normalize'
import { resizeBilinear } from './resize'
import { probabilitiesFrom } from '../model/scores'
import type { PixelParams } from './methods/base'
import { displayMap } from './pixel/channels'
import { buildInputGradientGraph } from './pixel/graph'
import { runPixel, type PixelRun } from './pixel/run'
import { seededSources, type PixelSources } from './pixel/sources'
import { modelPreprocess } from '../model/inputs'
import { ATTRIBUTION_DEFAULTS } from '../../../shared/api'
import { TOP1, type CamTarget } from './objective'
import { describeTarget } from './targets'
import type { PerturbationParams } from './methods/base'
import { ForwardScorer } from '../model/scorer'
import { runPerturbation, type PerturbationRun } from './perturbation/run'
import { riseCellSize } from './methods/rise'

export interface CamRunnerOptions {
  method: CamMethod
  /** `auto`, a tensor name, or an exporter module scope. */
  layer: string
  /** Threads per onnxruntime operator (default: onnxruntime's choice). */
  threads?: number
  /** Masked inputs per forward pass for Score-CAM. */
  scoreBatch?: number
  /** What the gradient maps differentiate (cam/objective.ts); default: the class given to run(). */
  target?: CamTarget
  /** Pixel attributions: their parameters and where their baselines and noise come from. */
  pixel?: { params: PixelParams; sources: PixelSources; pointBatch?: number }
  /** Perturbation attributions (Occlusion, RISE): their parameters, the seed of RISE's masks, changed copies per model run (default 32). Baselines and masks come from `pixel.sources`. */
  perturbation?: { params: PerturbationParams; seed: number; batch?: number }
}

export interface Prediction {
  index: number
  label: string
  probability: number
}

export interface CamMap {
  /** Probabilities are the model's own output (soft-maxed only when the model outputs plain scores). */
  top5: Prediction[]
  /** `logit`: the class score the map differentiates (before any final Softmax). */
  target: Prediction & { logit: number }
  /** The tensor whose class score was differentiated (for forward-only methods: whose score was read). */
  scoreTensor: string
  /** Why the map may mislead (e.g. all zero). */
  warnings?: string[]
  /** Normalised map at the model's input size, [H*W] in [0, 1]. */
  map: Float32Array
  /**
   * ReLU'd map at layer resolution before any normalisation: comparable across images. For a pixel
   * attribution: its per-pixel map at the input's resolution, signed for the signed methods.
   */
  raw: Float32Array
  rawShape: [number, number]
  /** Integrated Gradients: sum(attribution) - (F(x) - F(baseline)) and F(x) - F(baseline). */
  completeness?: { error: number; delta: number }
  /** A segmentation model's predicted class per output pixel, row-major [h, w]. */
  mask?: { data: Uint8Array; h: number; w: number }
}

/** Image i's mask out of a batch's [B, H, W] int64 classes (at most 256 classes are told apart). */
function maskOf(t: { data: BigInt64Array; h: number; w: number } | undefined, i: number): CamMap['mask'] {
  if (!t) return undefined
  const per = t.h * t.w
  return { data: Uint8Array.from(t.data.subarray(i * per, (i + 1) * per), (v) => Number(v) & 255), h: t.h, w: t.w }
}

/** Indices of the k largest values, largest first (a partial selection: no sort of 1,000 classes). */
function topK(values: Float64Array, k: number): number[] {
  const best: number[] = []
  for (let i = 0; i < values.length; i++) {
    if (best.length === k && values[i] <= values[best[k - 1]]) continue
    let j = Math.min(best.length, k - 1)
    best[j] = i
    while (j > 0 && values[best[j - 1]] < values[i]) {
      best[j] = best[j - 1]
      best[j - 1] = i
      j--
    }
  }
  return best
}

export const ALL_ZERO_WARNING =
  'The map is all zero: every weighted sum of the activations was negative (the ReLU removed everything), so the layer shows no evidence for this class. Try another layer or method.'

/** The API's defaults (AttributionFields) with the model's own preprocessing: for callers that pass no pixel options (the audit's and tests' loops over every method). */
function defaultPixelOptions(model: LoadedModel): NonNullable<CamRunnerOptions['pixel']> {
  const { steps, integration, samples, noise, baseline, seed } = ATTRIBUTION_DEFAULTS
  return {
    params: { steps, integration, samples, noise },
    sources: seededSources({ baseline, seed, preprocess: modelPreprocess(model, {}), chw: model.inputChw, layout: model.layout })
  }
}

/** The API's defaults for the perturbation attributions (as defaultPixelOptions). */
function defaultPerturbationOptions(model: LoadedModel): NonNullable<CamRunnerOptions['perturbation']> {
  const { window, stride, masks, keep, seed } = ATTRIBUTION_DEFAULTS
  const [, h, w] = model.inputChw
  return { params: { window, stride, masks, cellSize: riseCellSize(h, w), keep }, seed }
}

export const PERTURBATION_ZERO_WARNING = 'The attribution is zero at every pixel: the class score did not change when parts of the image were replaced by the baseline.'

/** Guided Backprop and Deconvnet replace Relu's backward rule only (as Captum hooks nn.ReLU only): without a Relu their map is the plain gradient. */
function overrideWarning(module: PixelRun['module'], m: LoadedModel): string | undefined {
  const ops = Object.keys(module.overrides ?? {})
  if (!ops.length || m.index.nodes.some((n) => ops.includes(n.opType))) return undefined
  return `This model has no ${ops.join(' or ')} node (its activations are others, e.g. Clip for ReLU6), so ${camMethodName(module.id)} changed no backward rule: the map is the plain gradient, as Captum gives for such a model.`
}

export const PIXEL_ZERO_WARNING = 'The attribution is zero at every pixel: the class score does not change with the input here (a saturated or dead network).'

function allZero(raw: Float32Array): boolean {
  for (let p = 0; p < raw.length; p++) if (raw[p] > 0) return false
  return true
}

/**
 * Computes one CAM method at one layer for batches of preprocessed images: one onnxruntime run per
 * batch returns logits, activations and gradients together; the maps are then weighted, ReLU'd,
 * min-max scaled at layer resolution, resized bilinearly to the input size and scaled again.
 */
export class CamRunner {
  private constructor(
    readonly model: LoadedModel,
    readonly method: CamMethod,
    readonly layer: string,
    private readonly session: OrtSession,
    /** Set for gradient methods, whose maps the graph computes. */
    private readonly graph: CamGraph | null,
    /** For the forward-only methods: the graph output holding the layer's activations (NCHW). */
    private readonly activationsName: string,
    /** The graph output holding the class scores [B, classes]. */
    private readonly scoresName: string,
    /** Score-CAM's masked passes: the model up to its class scores. */
    private readonly forward: { session: OrtSession; scores: string } | null,
    private readonly scoreBatch: number,
    /** Set for the pixel attributions. */
    private readonly pixel: PixelRun | null = null,
    /** Set for the perturbation attributions. */
    private readonly perturbation: PerturbationRun | null = null,
    /** AblationCAM's passes: the model from the layer on. */
    private readonly tail: (TailGraph & { session: OrtSession }) | null = null
  ) {}

  static async create(model: LoadedModel, opts: CamRunnerOptions): Promise<CamRunner> {
    const module = camMethod(opts.method)
    if ((module.kind === 'gradient' && !module.graph) || module.kind === 'forward') {
      const layers = layerList(model.index, opts.layer, model.path)
      if (layers.length > 1) return CamRunner.layered(model, opts, layers)
    }
    if (module.kind === 'perturbation') {
      // Forward passes of the plain model only (no gradient graph): the layer is the input tensor, as for the pixel attributions.
      const o = opts.perturbation ?? defaultPerturbationOptions(model)
      const sources = (opts.pixel ?? defaultPixelOptions(model)).sources
      const scorer = await ForwardScorer.create(model, o.batch ?? 32, { threads: opts.threads, classScores: true })
      const run: PerturbationRun = { scorer, module, params: o.params, sources, seed: o.seed }
      return new CamRunner(model, opts.method, model.inputName, scorer.session, null, model.inputName, model.score.name, null, 0, null, run)
    }
    if (module.kind === 'pixel') {
      // Attributions are of the input itself: the layer is the input tensor, whatever was asked,
      // except for Guided Grad-CAM, whose Grad-CAM factor is the chosen layer's.
      const o = opts.pixel ?? defaultPixelOptions(model)
      const camLayer = module.layerCam ? resolveLayer(model.index, model.shapes, model.types, opts.layer, model.path) : undefined
      const g = buildInputGradientGraph(model, { overrides: module.overrides, camLayer, target: opts.target })
      const session = await OrtSession.create(g.bytes, model.path, { intraOpThreads: opts.threads })
      const warning = overrideWarning(module, model)
      const pixel: PixelRun = { session, graph: g, module, params: o.params, sources: o.sources, pointBatch: o.pointBatch ?? 32, ...(warning ? { warning } : {}) }
      return new CamRunner(model, opts.method, camLayer ?? model.inputName, session, null, model.inputName, g.scores, null, 0, pixel).targeting(opts.target, g.logits)
    }
    if (module.kind === 'gradient' && module.graph) {
      // FullGrad reads every bias layer and the input, not the chosen layer (as the pixel attributions, its layer is the input).
      const own = module.graph(model, opts.target)
      const session = await OrtSession.create(own.bytes, model.path, { intraOpThreads: opts.threads })
      return new CamRunner(model, opts.method, model.inputName, session, own, model.inputName, own.scores, null, 0).targeting(opts.target, own.logits)
    }
    const layer = resolveLayer(model.index, model.shapes, model.types, opts.layer, model.path)
    const grads = module.kind === 'gradient'
    const graph = grads ? buildCamGraph(model, layer, opts.method, opts.target) : null
    const forwardOnly = grads ? null : buildActivationGraph(model, layer)
    const session = await OrtSession.create(graph?.bytes ?? forwardOnly!.bytes, model.path, { intraOpThreads: opts.threads })
    let forward: { session: OrtSession; scores: string } | null = null
    if (module.kind === 'forward' && module.needsScores) {
      const g = buildScoresGraph(model)
      forward = { session: await OrtSession.create(g.bytes, model.path, { intraOpThreads: opts.threads }), scores: g.scores }
    }
    let tail: (TailGraph & { session: OrtSession }) | null = null
    if (module.kind === 'forward' && module.needsTail) {
      const g = buildTailGraph(model, layer)
      tail = { ...g, session: await OrtSession.create(g.bytes, model.path, { intraOpThreads: opts.threads }) }
    }
    const scoresName = graph?.scores ?? forwardOnly!.scores
    return new CamRunner(model, opts.method, layer, session, graph, forwardOnly?.activations ?? layer, scoresName, forward, opts.scoreBatch ?? 16, null, null, tail).targeting(
      opts.target,
      graph?.logits ?? forwardOnly!.output
    )
  }

  /**
   * A CAM at several layers (`layer2,layer4`): one runner per layer, their maps averaged as
   * pytorch-grad-cam does (multi-layer.ts). Its `layer` lists the resolved layers.
   */
  private static async layered(model: LoadedModel, opts: CamRunnerOptions, layers: string[]): Promise<CamRunner> {
    const parts: CamRunner[] = []
    try {
      for (const layer of layers) parts.push(await CamRunner.create(model, { ...opts, layer }))
    } catch (err) {
      for (const p of parts) await p.release()
      throw err
    }
    const first = parts[0]
    const runner = new CamRunner(model, opts.method, parts.map((p) => p.layer).join(','), first.session, null, '', first.scoresName, null, 0)
    runner.parts = parts
    return runner
  }
  private parts: CamRunner[] | null = null

  private async runLayers(inputs: Float32Array[] | Float32Array, targets: number[], throwIfCancelled?: () => void, onStep?: (image: number, done: number, total: number) => void): Promise<CamMap[]> {
    const perLayer: CamMap[][] = []
    for (const p of this.parts!) perLayer.push(await p.run(inputs, targets, throwIfCancelled, onStep))
    const [, H, W] = this.model.inputChw
    return combineLayers(perLayer, this.parts!.map((p) => p.layer), H, W)
  }

  /** What the maps differentiate, and the graph output holding the model's output per image [B, classes]. */
  private targetText: string | null = null
  private outputName: string | null = null
  private targeting(target: CamTarget | undefined, outputName: string): this {
    this.targetText = describeTarget(this.model, target ?? TOP1)
    this.outputName = outputName
    return this
  }

  /** A result's target: the class's own label, or what a contrast, output, region or similarity target differentiates. */
  private targetOf(pred: Prediction, objective: number): Prediction & { logit: number } {
    const text = this.targetText
    return { ...pred, ...(text ? { label: text } : {}), logit: objective }
  }

  /** The tensor whose class score the maps are computed for. */
  get scoreTensor(): string {
    return this.model.score.name
  }

  get provider(): string {
    return this.session.provider
  }

  get batchLimit(): number {
    return this.model.dynamicBatch ? Infinity : this.model.fixedBatch
  }

  /** One contiguous buffer for a batch, so a caller can assemble it while decoding (no copy in run). */
  stack(inputs: Float32Array[]): Float32Array {
    const per = this.model.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
    const data = new Float32Array(inputs.length * per)
    inputs.forEach((x, i) => {
      if (x.length !== per) throw new ApiError('invalid-arguments', `Input ${i} has ${x.length} values; the model expects ${per}.`)
      data.set(x, i * per)
    })
    return data
  }

  /**
   * `inputs`: the images, or one buffer holding the whole batch (see stack). `targets[i]` is a class
   * index or -1 for top-1. The returned maps are views into the run's output buffers. `onStep` hears
   * a forward method's own passes for image i of the batch (Score-CAM's masked batches).
   */
  async run(inputs: Float32Array[] | Float32Array, targets: number[], throwIfCancelled?: () => void, onStep?: (image: number, done: number, total: number) => void): Promise<CamMap[]> {
    if (this.parts) return this.runLayers(inputs, targets, throwIfCancelled, onStep)
    const m = this.model
    const n = targets.length
    if (!m.dynamicBatch && n !== m.fixedBatch) {
      throw new ApiError('invalid-arguments', `${m.file} takes exactly ${m.fixedBatch} image(s) per run.`, m.path)
    }
    const batch = Array.isArray(inputs) ? this.stack(inputs) : inputs
    if (this.pixel) return this.runPixel(batch, targets, throwIfCancelled, onStep)
    if (this.perturbation) return this.runPerturbation(batch, targets, throwIfCancelled, onStep)
    const per = batch.length / n
    const feeds: Record<string, ReturnType<typeof floatTensor>> = { [m.inputName]: floatTensor(batch, m.inputDims(n)) }
    if (this.graph) feeds[TARGET_INPUT] = int64Tensor(targets)
    const out = await this.session.run(feeds)
    const outputAll = out[this.outputName ?? m.logitsName].data as Float32Array
    const objective = this.graph ? (out[this.graph.objective].data as Float32Array) : null
    const maskT = this.graph?.mask ? out[this.graph.mask] : null
    const masks = maskT ? { data: maskT.data as BigInt64Array, h: maskT.dims[1] as number, w: maskT.dims[2] as number } : undefined
    const scoresAll = out[this.scoresName].data as Float32Array
    const [, H, W] = m.inputChw
    const results: CamMap[] = []
    for (let i = 0; i < n; i++) {
      const logits = scoresAll.subarray(i * m.numClasses, (i + 1) * m.numClasses)
      const probs = probabilitiesFrom(outputAll.subarray(i * m.numClasses, (i + 1) * m.numClasses), m.score.activation)
      // Ranked by score: the same order as the probabilities for softmax, and the class the graph's ArgMax took.
      const top5 = topK(Float64Array.from(logits), 5)
      const target = targets[i] >= 0 ? targets[i] : top5[0]
      let raw: Float32Array
      let map: Float32Array
      let rawShape: [number, number]
      if (this.graph) {
        const rawT = out[this.graph.raw]
        const [, , h, w] = rawT.dims as number[]
        rawShape = [h, w]
        raw = (rawT.data as Float32Array).subarray(i * h * w, (i + 1) * h * w)
        map = (out[this.graph.map].data as Float32Array).subarray(i * H * W, (i + 1) * H * W)
      } else {
        const acts = out[this.activationsName]
        const [, k, h, w] = acts.dims as number[]
        rawShape = [h, w]
        const a = (acts.data as Float32Array).subarray(i * k * h * w, (i + 1) * k * h * w)
        const method = camMethod(this.method)
        if (method.kind !== 'forward') throw new Error(`${this.method} has no forward-only form`)
        raw = await method.raw({
          activations: a,
          k,
          h,
          w,
          target,
          input: batch.subarray(i * per, (i + 1) * per),
          chw: m.inputChw,
          layout: m.layout,
          inputName: m.inputName,
          scores: this.forward ? { session: this.forward.session, name: this.forward.scores } : null,
          targetScore: logits[target],
          tail: this.tail,
          batch: this.scoreBatch,
          throwIfCancelled,
          onStep: onStep && ((done, total) => onStep(i, done, total))
        })
        for (let p = 0; p < raw.length; p++) if (!(raw[p] > 0)) raw[p] = 0
        map = minMaxNormalize(resizeBilinear(minMaxNormalize(raw), h, w, H, W))
      }
      const pred = (j: number): Prediction => ({ index: j, label: m.labelOf(j), probability: probs[j] })
      const warnings = allZero(raw) ? [ALL_ZERO_WARNING] : undefined
      const mask = maskOf(masks, i)
      results.push({ top5: top5.map(pred), target: this.targetOf(pred(target), objective ? objective[i] : logits[target]), scoreTensor: m.score.name, warnings, map, raw, rawShape, ...(mask ? { mask } : {}) })
    }
    return results
  }

  /** A pixel attribution's batch: maps at the input's resolution, shown by magnitude (see displayMap). */
  private async runPixel(batch: Float32Array, targets: number[], throwIfCancelled?: () => void, onStep?: (image: number, done: number, total: number) => void): Promise<CamMap[]> {
    const m = this.model
    const r = await runPixel(this.pixel!, m, batch, targets, throwIfCancelled, onStep)
    const [, H, W] = m.inputChw
    const unchanged = this.pixel!.warning
    return r.attributions.map((a, i) => {
      const logits = r.scores.subarray(i * m.numClasses, (i + 1) * m.numClasses)
      const probs = probabilitiesFrom(r.output.subarray(i * m.numClasses, (i + 1) * m.numClasses), m.score.activation)
      const top5 = topK(Float64Array.from(logits), 5)
      const target = r.targets[i]
      const pred = (j: number): Prediction => ({ index: j, label: m.labelOf(j), probability: probs[j] })
      const zero = a.map.every((v) => v === 0)
      const warnings = [...(zero ? [PIXEL_ZERO_WARNING] : []), ...(unchanged ? [unchanged] : [])]
      return {
        top5: top5.map(pred),
        target: this.targetOf(pred(target), r.objective[i]),
        scoreTensor: m.score.name,
        ...(r.mask ? { mask: maskOf(r.mask, i) } : {}),
        warnings: warnings.length ? warnings : undefined,
        map: displayMap(a.map),
        raw: a.map,
        rawShape: [H, W] as [number, number],
        ...(a.completeness ? { completeness: a.completeness } : {})
      }
    })
  }

  /** A perturbation attribution's batch: maps at the input's resolution, each shown as its method says (Occlusion by magnitude, RISE min-max scaled). */
  private async runPerturbation(batch: Float32Array, targets: number[], throwIfCancelled?: () => void, onStep?: (image: number, done: number, total: number) => void): Promise<CamMap[]> {
    const m = this.model
    const r = await runPerturbation(this.perturbation!, m, batch, targets, throwIfCancelled, onStep)
    const [, H, W] = m.inputChw
    return r.attributions.map((a, i) => {
      const top5 = topK(r.scores[i], 5)
      const pred = (j: number): Prediction => ({ index: j, label: m.labelOf(j), probability: r.probabilities[i][j] })
      const target = r.targets[i]
      const zero = a.map.every((v) => v === 0)
      return {
        top5: top5.map(pred),
        target: { ...pred(target), logit: r.scores[i][target] },
        scoreTensor: m.score.name,
        warnings: zero ? [PERTURBATION_ZERO_WARNING] : undefined,
        map: a.display,
        raw: a.map,
        rawShape: [H, W] as [number, number]
      }
    })
  }

  async release(): Promise<void> {
    if (this.parts) {
      for (const p of this.parts) await p.release()
      return
    }
    await this.session.release()
    await this.forward?.session.release()
    await this.tail?.session.release()
  }
}
