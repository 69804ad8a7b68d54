import { harmonicSolverChannels } from './harmonic'
import { at, gaussian, mulberry32, type Plane } from './pixels'

/**
 * ROAD: RemOve And Debias (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy for
 * Attribution Methods"). Removed pixels are not set to a constant (which leaks the mask's shape to
 * the model) but imputed: each removed pixel is the weighted mean of its 8 neighbours (direct ones
 * 1/6, diagonal ones 1/12; neighbours outside the image drop out), solved jointly for all removed
 * pixels as one sparse linear system, plus Gaussian noise. MoRF removes the most relevant pixels
 * first (probability should fall), LeRF the least relevant (probability should stay).
 */

/** Pixels removed at a percentile: floor(percent * HW / 100). */
export function roadCount(percent: number, area: number): number {
  return Math.floor((percent * area) / 100)
}

/**
 * The image with `removed` pixels (1 = removed) replaced by the linear imputation plus `noise` times
 * standard normal noise, channel by channel (see solveHarmonic).
 */
export function imputeNoisyLinear(x: Float32Array, plane: Plane, removed: Uint8Array, noise: number, seed = 0): Float32Array {
  const { height: H, width: W, channels: C } = plane
  const area = H * W
  const out = Float32Array.from(x)
  let any = false
  for (let p = 0; p < area && !any; p++) any = removed[p] === 1
  if (!any) return out
  const rng = gaussian(mulberry32(seed))
  // One system for all channels (the matrix depends only on the mask), solved for them together.
  // Offset of channel c of pixel p = c * cStride + p * pStride (as `at`, without a call per value).
  const cStride = at(plane, 0, 1) - at(plane, 0, 0)
  const pStride = at(plane, 1, 0) - at(plane, 0, 0)
  const vals = new Float64Array(area * C)
  for (let c = 0; c < C; c++) for (let p = 0; p < area; p++) if (!removed[p]) vals[p * C + c] = x[c * cStride + p * pStride]
  const solved = harmonicSolverChannels(removed, H, W, C)(vals)
  // Noise drawn channel by channel, pixel by pixel, as before: the same seed gives the same image.
  for (let c = 0; c < C; c++) for (let p = 0; p < area; p++) if (removed[p]) out[c * cStride + p * pStride] = solved[p * C + c] + (noise ? noise * rng() : 0)
  return out
}

/** The ROAD input for one percentile: the first `count` pixels of `order` removed and imputed. */
export function roadInput(x: Float32Array, order: Uint32Array, count: number, plane: Plane, noise: number, seed: number): Float32Array {
  const removed = new Uint8Array(plane.height * plane.width)
  for (let i = 0; i < count; i++) removed[order[i]] = 1
  return imputeNoisyLinear(x, plane, removed, noise, seed)
}
