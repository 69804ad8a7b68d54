import { maxOf } from '../../../../shared/stats'
import { OrtSession, floatTensor } from '../../exec/ort'
import { weightedSum, type ForwardCamModule } from './base'

/**
 * Bilinear resize with align_corners=True (torch.nn.UpsamplingBilinear2d), which is what
 * pytorch-grad-cam's Score-CAM uses for its masks (unlike the final map resize).
 */
export function resizeAlignCorners(src: Float32Array, sh: number, sw: number, dh: number, dw: number): Float32Array {
  const out = new Float32Array(dh * dw)
  const ry = dh > 1 ? (sh - 1) / (dh - 1) : 0
  const rx = dw > 1 ? (sw - 1) / (dw - 1) : 0
  for (let y = 0; y < dh; y++) {
    const fy = y * ry
    const y0 = Math.floor(fy)
    const y1 = Math.min(y0 + 1, sh - 1)
    const wy = fy - y0
    for (let x = 0; x < dw; x++) {
      const fx = x * rx
      const x0 = Math.floor(fx)
      const x1 = Math.min(x0 + 1, sw - 1)
      const wx = fx - x0
      const top = src[y0 * sw + x0] * (1 - wx) + src[y0 * sw + x1] * wx
      const bottom = src[y1 * sw + x0] * (1 - wx) + src[y1 * sw + x1] * wx
      out[y * dw + x] = top * (1 - wy) + bottom * wy
    }
  }
  return out
}

export interface ScoreCamArgs {
  forward: OrtSession
  inputName: string
  logitsName: string
  /** One image, [C*H*W]. */
  input: Float32Array
  chw: [number, number, number]
  layout: 'NCHW' | 'NHWC'
  activations: Float32Array
  k: number
  h: number
  w: number
  target: number
  batch: number
  throwIfCancelled?: () => void
  /** After each masked batch (and once before the first): channels done, of k. */
  onStep?: (done: number, total: number) => void
}

/**
 * Score-CAM: each activation channel, upsampled and min-max scaled to [0, 1], masks the input; the
 * target logit of each masked input, soft-maxed over channels, weights the channels. One forward
 * pass per channel, batched.
 */
export async function scoreCam(args: ScoreCamArgs): Promise<Float32Array> {
  const [c, H, W] = args.chw
  const plane = H * W
  const scores = new Float64Array(args.k)
  // One image is k forward passes (1,280 for a MobileNetV2: about 10 s at 224 px on a CPU), so each batch says so.
  args.onStep?.(0, args.k)
  for (let start = 0; start < args.k; start += args.batch) {
    args.throwIfCancelled?.()
    const n = Math.min(args.batch, args.k - start)
    const masked = new Float32Array(n * c * plane)
    for (let i = 0; i < n; i++) {
      const ch = start + i
      const up = resizeAlignCorners(args.activations.subarray(ch * args.h * args.w, (ch + 1) * args.h * args.w), args.h, args.w, H, W)
      let min = Infinity
      let max = -Infinity
      for (const v of up) {
        if (v < min) min = v
        if (v > max) max = v
      }
      const range = max - min
      for (let p = 0; p < plane; p++) up[p] = range > 0 ? (up[p] - min) / range : 0
      const base = i * c * plane
      if (args.layout === 'NCHW') {
        for (let cc = 0; cc < c; cc++) for (let p = 0; p < plane; p++) masked[base + cc * plane + p] = args.input[cc * plane + p] * up[p]
      } else {
        for (let p = 0; p < plane; p++) for (let cc = 0; cc < c; cc++) masked[base + p * c + cc] = args.input[p * c + cc] * up[p]
      }
    }
    const dims = args.layout === 'NCHW' ? [n, c, H, W] : [n, H, W, c]
    const out = await args.forward.run({ [args.inputName]: floatTensor(masked, dims) }, [args.logitsName])
    const logits = out[args.logitsName].data as Float32Array
    const classes = logits.length / n
    for (let i = 0; i < n; i++) scores[start + i] = logits[i * classes + args.target]
    args.onStep?.(start + n, args.k)
  }
  return weightedSum(args.activations, softmaxWeights(scores), args.h * args.w)
}

/** Softmax over Score-CAM's per-channel target scores: the channel weights. */
export function softmaxWeights(scores: Float64Array): Float64Array {
  const max = maxOf(scores)
  const e = scores.map((s) => Math.exp(s - max))
  const total = e.reduce((p, v) => p + v, 0)
  return e.map((v) => v / total)
}

/** Score-CAM as a method: one masked forward pass per channel, through the model up to its class scores. */
export const scorecamMethod: ForwardCamModule = {
  id: 'scorecam',
  kind: 'forward',
  needsScores: true,
  raw: (x) =>
    scoreCam({
      forward: x.scores!.session,
      inputName: x.inputName,
      logitsName: x.scores!.name,
      input: x.input,
      chw: x.chw,
      layout: x.layout,
      activations: x.activations,
      k: x.k,
      h: x.h,
      w: x.w,
      target: x.target,
      batch: x.batch,
      throwIfCancelled: x.throwIfCancelled,
      onStep: x.onStep
    })
}
