import type { ForwardCamModule } from './base'

/** Power-iteration steps of the Eigen-CAM projections (EigenGradCAM's graph form takes as many). */
export const EIGEN_ITERATIONS = 60

/**
 * Eigen-CAM: the projection of the (position x channel) activation matrix, centred per channel, on
 * its first right singular vector (power iteration; no gradients, no class). The singular vector's
 * sign is arbitrary, so we pick the one whose map agrees with the mean activation: the map then
 * highlights where the layer is active, which is what users read Eigen-CAM for.
 */
export function eigencam(a: Float32Array, k: number, area: number, iterations = EIGEN_ITERATIONS): Float32Array {
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

/** Eigen-CAM as a method: the activations alone, no gradients and no class. */
export const eigencamMethod: ForwardCamModule = {
  id: 'eigencam',
  kind: 'forward',
  needsScores: false,
  raw: async (x) => eigencam(x.activations, x.k, x.h * x.w)
}
