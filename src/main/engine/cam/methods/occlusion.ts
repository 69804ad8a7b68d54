import { ApiError } from '../../../../shared/errors'
import { displayMap } from '../pixel/channels'
import { acrossChannels } from '../perturbation/display'
import type { PerturbationMethodModule } from './base'

/**
 * The windows Occlusion slides along one side of the input, as Captum's Occlusion places them:
 * ceil((side - window) / stride) + 1 starts 0, stride, 2 stride, ...; a last window that would run
 * past the edge is cut there, so every pixel is covered.
 */
export function windowStarts(side: number, window: number, stride: number): number[] {
  const n = Math.ceil((side - window) / stride) + 1
  return Array.from({ length: n }, (_, i) => i * stride)
}

/** The window and stride a model input allows: a clear error naming the field otherwise. */
export function checkOcclusion(window: number, stride: number, h: number, w: number): void {
  if (window > Math.min(h, w)) throw new ApiError('invalid-arguments', `The Occlusion window (${window} pixels) is larger than the model input (${w}x${h} pixels): give at most ${Math.min(h, w)}.`, undefined, { field: 'window' })
  if (stride > window) throw new ApiError('invalid-arguments', `The Occlusion stride (${stride} pixels) is larger than its window (${window} pixels): pixels between the windows would be covered by none. Give a stride of at most ${window}.`, undefined, { field: 'stride' })
}

/**
 * Occlusion (Zeiler & Fergus 2014), as Captum computes it: a window of window x window pixels over all
 * channels (sliding_window_shapes (C, window, window)) moves by `stride`; each position replaces those
 * pixels by the baseline's and costs one model run. A pixel's attribution is the mean over the windows
 * covering it of F(x) - F(x with the window occluded), F the target's class score. Signed: occluding
 * some pixels raises the score. Shown by magnitude as the other signed attributions (displayMap); the
 * raw map keeps the sign.
 */
export const occlusion: PerturbationMethodModule = {
  id: 'occlusion',
  kind: 'perturbation',
  async attribute(x) {
    const [channels, h, w] = x.chw
    const { window, stride } = x.params
    checkOcclusion(window, stride, h, w)
    const ys = windowStarts(h, window, stride)
    const xs = windowStarts(w, window, stride)
    const base = x.baseline()
    const plane = h * w
    const total = new Float64Array(plane)
    const count = new Float64Array(plane)
    const rect = (k: number) => {
      const y0 = ys[Math.floor(k / xs.length)]
      const x0 = xs[k % xs.length]
      return [y0, Math.min(h, y0 + window), x0, Math.min(w, x0 + window)]
    }
    await x.scores(
      ys.length * xs.length,
      (k, dst) => {
        dst.set(x.input)
        const [y0, y1, x0, x1] = rect(k)
        for (let y = y0; y < y1; y++)
          for (let xx = x0; xx < x1; xx++) {
            const p = y * w + xx
            if (x.layout === 'NCHW') for (let c = 0; c < channels; c++) dst[c * plane + p] = base[c * plane + p]
            else for (let c = 0; c < channels; c++) dst[p * channels + c] = base[p * channels + c]
          }
      },
      (k, score) => {
        const drop = x.score - score
        const [y0, y1, x0, x1] = rect(k)
        for (let y = y0; y < y1; y++)
          for (let xx = x0; xx < x1; xx++) {
            total[y * w + xx] += drop
            count[y * w + xx] += 1
          }
      }
    )
    const map = Float32Array.from(total, (t, p) => t / count[p])
    return { attribution: acrossChannels(map, x.chw, x.layout), map, display: displayMap(map) }
  }
}
