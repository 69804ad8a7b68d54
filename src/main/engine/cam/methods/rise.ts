import { ApiError } from '../../../../shared/errors'
import { minMaxNormalize } from '../normalize'
import { acrossChannels } from '../perturbation/display'
import type { PerturbationMethodModule } from './base'

/** RISE's cell size when none is given: the paper's 7 x 7 grid over the input's shorter side (32 pixels at 224, 4 at 28). */
export function riseCellSize(h: number, w: number): number {
  return Math.ceil(Math.min(h, w) / 7)
}

/** The cell size a model input allows: a clear error naming the field otherwise. */
export function checkRise(cellSize: number, h: number, w: number): void {
  if (cellSize > Math.min(h, w)) throw new ApiError('invalid-arguments', `The RISE cell size (${cellSize} pixels) is larger than the model input (${w}x${h} pixels): give at most ${Math.min(h, w)}.`, undefined, { field: 'cellSize' })
}

/**
 * RISE (Petsiuk et al. 2018): N random smooth masks M_i (masks.ts) each keep part of the image, the
 * rest going to the baseline (x M_i + baseline (1 - M_i)); one model run per mask. The saliency of a
 * pixel is sum_i F(masked_i) M_i(pixel) / (N p), F the target's class score and p the probability a
 * cell is kept: about the expected score when that pixel is visible.
 */
export const rise: PerturbationMethodModule = {
  id: 'rise',
  kind: 'perturbation',
  async attribute(x) {
    const [channels, h, w] = x.chw
    const { masks: n, cellSize, keep } = x.params
    checkRise(cellSize, h, w)
    const base = x.baseline()
    const plane = h * w
    const sum = new Float64Array(plane)
    // Masks of the batch being scored, made in fill and used once their scores come back.
    const pending = new Map<number, Float32Array>()
    await x.scores(
      n,
      (k, dst) => {
        const m = x.mask(k)
        pending.set(k, m)
        for (let p = 0; p < plane; p++) {
          const keepP = m[p]
          if (x.layout === 'NCHW') for (let c = 0; c < channels; c++) dst[c * plane + p] = x.input[c * plane + p] * keepP + base[c * plane + p] * (1 - keepP)
          else for (let c = 0; c < channels; c++) dst[p * channels + c] = x.input[p * channels + c] * keepP + base[p * channels + c] * (1 - keepP)
        }
      },
      (k, score) => {
        const m = pending.get(k)!
        pending.delete(k)
        for (let p = 0; p < plane; p++) sum[p] += score * m[p]
      }
    )
    const map = Float32Array.from(sum, (v) => v / (n * keep))
    return { attribution: acrossChannels(map, x.chw, x.layout), map, display: minMaxNormalize(map) } // RISE's map min-max scaled, as the paper shows it (the CAMs' scaling)
  }
}
