import type { CamMethodId } from '../../../../shared/registry/cam-methods'
import type { GraphBuilder } from '../../onnx/builder'
import type { OrtSession } from '../../exec/ort'

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
  attribute(x: PixelInput): Promise<PixelAttribution>
}

export type CamMethodModule = GradientCamModule | ForwardCamModule | PixelMethodModule

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
