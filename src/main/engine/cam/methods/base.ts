import type { CamMethodId } from '../../../../shared/registry/cam-methods'
import type { GraphBuilder } from '../../onnx/builder'
import type { OrtSession } from '../../exec/ort'
import type { LoadedModel } from '../../model/loaded-model'
import type { CamGraph } from '../graph'
import type { CamTarget } from '../objective'
import type { VjpRule } from '../../autodiff/types'

/**
 * The base every CAM method module builds on, as pytorch-grad-cam defines the family: a gradient
 * method turns one image's activations A [K, h, w] and gradients G [K, h, w] into a raw map [h, w]
 * (before the ReLU every method then applies), once as readable JavaScript (the reference the tests
 * hold the graph to) and once as graph nodes, so one onnxruntime run returns finished maps. A
 * forward-only method computes its raw map from the activations (and, if it asks, more forward
 * passes). Arrays are channel-major, as onnxruntime returns NCHW tensors.
 */
export type GradientCam = (a: Float32Array, g: Float32Array, k: number, area: number) => Float32Array

export interface GradientCamModule {
  id: CamMethodId
  kind: 'gradient'
  /** The raw map in JavaScript (the readable definition). */
  reference: GradientCam
  /** The same as graph nodes over activations `a` and gradients `g` ([B, K, h, w]); returns [B, h, w]. */
  emit(b: GraphBuilder, a: string, g: string): string
  /**
   * Remakes the target class's one-hot seed [B, classes] from the scores [B, classes] (FinerCAM: minus
   * the mean of the nearest classes), so what is differentiated is no longer the class score alone.
   */
  reseed?(b: GraphBuilder, scores: string, seed: string, classes: number): string
  /** A method that reads more than one layer (FullGrad) builds its whole graph; it then ignores the chosen layer. */
  graph?(m: LoadedModel, target?: CamTarget): CamGraph
}

/** What a forward-only method sees for one image. */
export interface ForwardCamInput {
  activations: Float32Array
  k: number
  h: number
  w: number
  target: number
  /** The image as fed to the model, and how to run the model again up to its class scores. */
  input: Float32Array
  chw: [number, number, number]
  layout: 'NCHW' | 'NHWC'
  inputName: string
  scores: { session: OrtSession; name: string } | null
  /** The class score of `target` (before any final Softmax) from the run that gave the activations. */
  targetScore?: number
  /** The model from the layer on (AblationCAM's ablated passes): feed the layer's activations, channels-first, and the image when `imageInput` is set. */
  tail?: { session: OrtSession; layerInput: string; imageInput: string | null; scores: string } | null
  batch: number
  throwIfCancelled?: () => void
  /** Called as the method's own passes progress (Score-CAM: channels masked so far, of k). */
  onStep?: (done: number, total: number) => void
}

export interface ForwardCamModule {
  id: CamMethodId
  kind: 'forward'
  /** Needs a session of the model up to its class scores (Score-CAM's masked passes). */
  needsScores: boolean
  /** Needs a session of the model from the layer on (AblationCAM). */
  needsTail?: boolean
  raw(x: ForwardCamInput): Promise<Float32Array>
}

/** The parameters a pixel attribution reads (CamRunSettings' AttributionFields, resolved). */
export interface PixelParams {
  steps: number
  integration: 'gausslegendre' | 'trapezoid'
  samples: number
  noise: number
}

/** The gradients of the target score with respect to the input at some points (inputs of one image's shape). */
export type InputGradients = (points: Float32Array[]) => Promise<{ grads: Float32Array[]; scores: Float64Array }>

/** What a pixel attribution sees for one image. Arrays are [C*H*W] in the model's layout. */
export interface PixelInput {
  input: Float32Array
  chw: [number, number, number]
  layout: 'NCHW' | 'NHWC'
  /** The gradient of the target score at the input, and that score (from the run that found the target). */
  gradient: Float32Array
  score: number
  /** More gradients, batched in chunks (Integrated Gradients' path, SmoothGrad's noisy copies). */
  gradients: InputGradients
  params: PixelParams
  /** Integrated Gradients' start for this image. */
  baseline: () => Float32Array
  /** SmoothGrad's k-th noise tensor for this image, standard deviation `sigma`. */
  noise: (k: number, sigma: number) => Float32Array
  throwIfCancelled?: () => void
  onStep?: (done: number, total: number) => void
  /** Guided Grad-CAM: the layer's Grad-CAM for the target, ReLU'd, [h*w] at the layer's resolution. */
  cam?: { raw: Float32Array; h: number; w: number }
}

/** A pixel attribution: per channel (`attribution`, [C*H*W]) and per pixel (`map`, [H*W], channels reduced). */
export interface PixelAttribution {
  attribution: Float32Array
  map: Float32Array
  /** Integrated Gradients: sum(attribution) - (F(x) - F(baseline)), and F(x) - F(baseline) (Captum's convergence delta). */
  completeness?: { error: number; delta: number }
}

export interface PixelMethodModule {
  id: CamMethodId
  kind: 'pixel'
  /** Backward rules used instead of the true ones for `gradient` (Guided Backprop's, Deconvnet's Relu). */
  overrides?: Readonly<Record<string, VjpRule>>
  /** Reads the chosen layer's Grad-CAM (PixelInput.cam), computed with the true gradients. */
  layerCam?: boolean
  /**
   * False for a method whose gradients are all at other points (Integrated Gradients' path, SmoothGrad's
   * noisy copies): the run at the image then fetches only its scores, so onnxruntime skips the backward
   * pass there, and `PixelInput.gradient` is empty.
   */
  imageGradient?: boolean
  attribute(x: PixelInput): Promise<PixelAttribution>
}

/** The parameters a perturbation attribution reads (CamRunSettings' AttributionFields, resolved). */
export interface PerturbationParams {
  /** Occlusion: the window's side and step, in input pixels. */
  window: number
  stride: number
  /** RISE: how many masks, a grid cell's side in input pixels, the probability a cell keeps the image. */
  masks: number
  cellSize: number
  keep: number
}

/** What a perturbation attribution sees for one image. Arrays are [C*H*W] in the model's layout. */
export interface PerturbationInput {
  input: Float32Array
  chw: [number, number, number]
  layout: 'NCHW' | 'NHWC'
  target: number
  /** F(x): the target's class score on the image itself (before a final Softmax/Sigmoid, as the gradient methods). */
  score: number
  /**
   * Scores `count` changed copies of the image through the model, a batch per onnxruntime run: `fill(k, dst)`
   * writes copy k only when its batch runs, `use(k, score)` gets its target class score.
   */
  scores: (count: number, fill: (k: number, dst: Float32Array) => void, use: (k: number, score: number) => void) => Promise<void>
  params: PerturbationParams
  /** What replaces the removed pixels ([C*H*W]): the run's baseline for this image. */
  baseline: () => Float32Array
  /** RISE's k-th mask [H*W] in [0, 1] (the same for every image of a run). */
  mask: (k: number) => Float32Array
}

/** A perturbation attribution: as a pixel attribution's, with the map as it is shown ([H*W] in [0, 1]). */
export interface PerturbationAttribution extends PixelAttribution {
  display: Float32Array
}

export interface PerturbationMethodModule {
  id: CamMethodId
  kind: 'perturbation'
  attribute(x: PerturbationInput): Promise<PerturbationAttribution>
}

export type CamMethodModule = GradientCamModule | ForwardCamModule | PixelMethodModule | PerturbationMethodModule

/** cam[p] = sum_k w[k] * A[k, p]. */
export function weightedSum(a: Float32Array, weights: Float64Array, area: number): Float32Array {
  const cam = new Float64Array(area)
  for (let k = 0; k < weights.length; k++) {
    const w = weights[k]
    if (w === 0) continue
    const off = k * area
    for (let p = 0; p < area; p++) cam[p] += w * a[off + p]
  }
  return Float32Array.from(cam)
}

/** cam[p] = sum_k f(G[k, p]) * A[k, p] (element-wise methods). */
export function elementwiseSum(a: Float32Array, g: Float32Array, k: number, area: number, f: (g: number) => number): Float32Array {
  const cam = new Float64Array(area)
  for (let c = 0; c < k; c++) {
    const off = c * area
    for (let p = 0; p < area; p++) cam[p] += f(g[off + p]) * a[off + p]
  }
  return Float32Array.from(cam)
}

/**
 * cam = sum_k w_k A_k with w_k = sum_p term(G[k, p], A[k, p], sum_p A[k, p]): the weighted CAMs whose
 * channel weight sums a per-pixel term (Grad-CAM++, XGrad-CAM).
 */
export function pixelWeightedCam(a: Float32Array, g: Float32Array, k: number, area: number, term: (g: number, a: number, sumA: number) => number): Float32Array {
  const w = new Float64Array(k)
  for (let c = 0; c < k; c++) {
    const off = c * area
    const sumA = channelSum(a, c, area)
    let s = 0
    for (let p = 0; p < area; p++) s += term(g[off + p], a[off + p], sumA)
    w[c] = s
  }
  return weightedSum(a, w, area)
}

/** sum_p A[c, p] for one channel. */
export function channelSum(a: Float32Array, c: number, area: number): number {
  let s = 0
  for (let p = 0; p < area; p++) s += a[c * area + p]
  return s
}
