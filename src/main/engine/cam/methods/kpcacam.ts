import type { ForwardCamModule } from './base'
import { topEigenpair } from './symmetric-eigen'

/**
 * KPCA-CAM (pytorch-grad-cam's KPCA_CAM with its defaults): scikit-learn's KernelPCA(n_components=1,
 * kernel='sigmoid') fitted on the layer's positions, each a K-vector of activations centred over the
 * positions. The kernel is tanh(gamma <x_i, x_j> + coef0) with gamma = 1/K and coef0 = 1; the kernel
 * matrix is double-centred; the map is the leading eigenvector u (largest eigenvalue lambda) times
 * sqrt(lambda), its sign fixed as sklearn's svd_flip does (the largest |u_i| positive), so it is
 * deterministic. A leading eigenvalue <= 0 gives an all-zero map (sklearn zeroes such values).
 */
export function kernelPcaProjection(a: Float32Array, k: number, area: number): Float32Array {
  const x = new Float64Array(k * area) // channel-major, centred per channel over the positions
  for (let c = 0; c < k; c++) {
    let mean = 0
    for (let p = 0; p < area; p++) mean += a[c * area + p]
    mean /= area
    for (let p = 0; p < area; p++) x[c * area + p] = a[c * area + p] - mean
  }
  const gram = new Float64Array(area * area)
  for (let c = 0; c < k; c++) {
    const off = c * area
    for (let i = 0; i < area; i++) {
      const xi = x[off + i]
      if (xi === 0) continue
      for (let j = 0; j <= i; j++) gram[i * area + j] += xi * x[off + j]
    }
  }
  const kern = new Float64Array(area * area)
  for (let i = 0; i < area; i++) {
    for (let j = 0; j <= i; j++) kern[i * area + j] = kern[j * area + i] = Math.tanh(gram[i * area + j] / k + 1)
  }
  // KernelCenterer: K - 1K - K1 + 1K1 (1 = the n x n matrix of 1/n).
  const rowMean = new Float64Array(area)
  let total = 0
  for (let i = 0; i < area; i++) {
    let s = 0
    for (let j = 0; j < area; j++) s += kern[i * area + j]
    rowMean[i] = s / area
    total += s
  }
  total /= area * area
  for (let i = 0; i < area; i++) for (let j = 0; j < area; j++) kern[i * area + j] += total - rowMean[i] - rowMean[j]
  const { value: lambda, vector: u } = topEigenpair(kern, area)
  const out = new Float32Array(area)
  if (!(lambda > 0)) return out
  let at = 0
  for (let i = 1; i < area; i++) if (Math.abs(u[i]) > Math.abs(u[at])) at = i
  const scale = Math.sqrt(lambda) * Math.sign(u[at])
  for (let i = 0; i < area; i++) out[i] = u[i] * scale
  return out
}

/** KPCA-CAM as a method: the activations alone, no gradients and no class. */
export const kpcacam: ForwardCamModule = {
  id: 'kpcacam',
  kind: 'forward',
  needsScores: false,
  raw: async (x) => kernelPcaProjection(x.activations, x.k, x.h * x.w)
}
