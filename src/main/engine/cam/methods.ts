import { maxOf } from '../../../shared/stats'
/**
 * The Grad-CAM family as small variations over one base, as pytorch-grad-cam defines them: each
 * method turns one image's activations A [K, h, w] and gradients G [K, h, w] into a raw map [h, w]
 * (before the ReLU that every method then applies). Arrays are channel-major, as onnxruntime returns
 * NCHW tensors.
 */
export const GRADIENT_METHODS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam'] as const
export const FORWARD_METHODS = ['eigencam', 'scorecam'] as const
export const CAM_METHODS = [...GRADIENT_METHODS, ...FORWARD_METHODS] as const
export type CamMethod = (typeof CAM_METHODS)[number]
export type GradientMethod = (typeof GRADIENT_METHODS)[number]

export const needsGradients = (m: CamMethod): m is GradientMethod => (GRADIENT_METHODS as readonly string[]).includes(m)

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
function elementwiseSum(a: Float32Array, g: Float32Array, k: number, area: number, f: (g: number) => number): Float32Array {
  const cam = new Float64Array(area)
  for (let c = 0; c < k; c++) {
    const off = c * area
    for (let p = 0; p < area; p++) cam[p] += f(g[off + p]) * a[off + p]
  }
  return Float32Array.from(cam)
}

type GradientCam = (a: Float32Array, g: Float32Array, k: number, area: number) => Float32Array

/** sum_p A[c, p] for one channel. */
function channelSum(a: Float32Array, c: number, area: number): number {
  let s = 0
  for (let p = 0; p < area; p++) s += a[c * area + p]
  return s
}

/** Grad-CAM: w_k = mean of G over space. */
const gradcam: GradientCam = (a, g, k, area) => {
  const w = new Float64Array(k)
  for (let c = 0; c < k; c++) w[c] = channelSum(g, c, area) / area
  return weightedSum(a, w, area)
}

/** Grad-CAM++: w_k = sum_p relu(G) * alpha, alpha = G^2 / (2 G^2 + sum_p(A) G^3). */
const gradcamPlusPlus: GradientCam = (a, g, k, area) => {
  const w = new Float64Array(k)
  for (let c = 0; c < k; c++) {
    const off = c * area
    const sumA = channelSum(a, c, area)
    let s = 0
    for (let p = 0; p < area; p++) {
      const gv = g[off + p]
      if (gv === 0) continue
      const g2 = gv * gv
      const alpha = g2 / (2 * g2 + sumA * g2 * gv + 1e-6)
      s += Math.max(gv, 0) * alpha
    }
    w[c] = s
  }
  return weightedSum(a, w, area)
}

/** XGrad-CAM: w_k = sum_p G * A / (sum_p A + eps). */
const xgradcam: GradientCam = (a, g, k, area) => {
  const w = new Float64Array(k)
  for (let c = 0; c < k; c++) {
    const off = c * area
    const sumA = channelSum(a, c, area)
    let s = 0
    for (let p = 0; p < area; p++) s += (g[off + p] * a[off + p]) / (sumA + 1e-7)
    w[c] = s
  }
  return weightedSum(a, w, area)
}

/** HiRes-CAM: the element-wise product summed over channels (no spatial averaging). */
const hirescam: GradientCam = (a, g, k, area) => elementwiseSum(a, g, k, area, (x) => x)

/** LayerCAM: positive gradients weight each activation element. */
const layercam: GradientCam = (a, g, k, area) => elementwiseSum(a, g, k, area, (x) => (x > 0 ? x : 0))

export const GRADIENT_CAMS: Record<GradientMethod, GradientCam> = {
  gradcam,
  'gradcam++': gradcamPlusPlus,
  xgradcam,
  hirescam,
  layercam
}

/**
 * Eigen-CAM: the projection of the (position x channel) activation matrix, centred per channel, on
 * its first right singular vector (power iteration; no gradients, no class). The singular vector's
 * sign is arbitrary, so we pick the one whose map agrees with the mean activation: the map then
 * highlights where the layer is active, which is what users read Eigen-CAM for.
 */
export function eigencam(a: Float32Array, k: number, area: number, iterations = 60): Float32Array {
  const x = new Float64Array(k * area) // centred, channel-major
  const mean = new Float64Array(area)
  for (let c = 0; c < k; c++) {
    let m = 0
    for (let p = 0; p < area; p++) m += a[c * area + p]
    m /= area
    for (let p = 0; p < area; p++) {
      x[c * area + p] = a[c * area + p] - m
      mean[p] += a[c * area + p] / k
    }
  }
  let v = new Float64Array(k).fill(1 / Math.sqrt(k))
  const xv = new Float64Array(area)
  for (let it = 0; it < iterations; it++) {
    xv.fill(0)
    for (let c = 0; c < k; c++) for (let p = 0; p < area; p++) xv[p] += x[c * area + p] * v[c]
    const next = new Float64Array(k)
    for (let c = 0; c < k; c++) {
      let s = 0
      for (let p = 0; p < area; p++) s += x[c * area + p] * xv[p]
      next[c] = s
    }
    const norm = Math.hypot(...next) || 1
    for (let c = 0; c < k; c++) next[c] /= norm
    v = next
  }
  const proj = new Float64Array(area)
  for (let c = 0; c < k; c++) for (let p = 0; p < area; p++) proj[p] += x[c * area + p] * v[c]
  let agree = 0
  for (let p = 0; p < area; p++) agree += proj[p] * mean[p]
  const sign = agree < 0 ? -1 : 1
  return Float32Array.from(proj, (p) => p * sign)
}

/** Softmax over Score-CAM's per-channel target scores: the channel weights. */
export function softmaxWeights(scores: Float64Array): Float64Array {
  const max = maxOf(scores)
  const e = scores.map((s) => Math.exp(s - max))
  const total = e.reduce((p, v) => p + v, 0)
  return e.map((v) => v / total)
}
