import { ApiError } from './errors'

/**
 * Bilinear resize of a single-channel row-major map with half-pixel centres: the same numbers as
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False) (no antialias) and, when
 * upsampling, OpenCV's INTER_LINEAR. CAM maps come out at feature-map resolution (7x7, 14x14) and
 * are upsampled to the input size with exactly this, so matching it keeps heatmaps comparable.
 */
export function resizeBilinear(src: Float32Array, sh: number, sw: number, dh: number, dw: number): Float32Array {
  for (const [name, v] of [['source height', sh], ['source width', sw], ['target height', dh], ['target width', dw]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ApiError('invalid-arguments', `resizeBilinear: the ${name} must be a positive whole number, not ${v}.`)
  }
  if (src.length !== sh * sw) {
    throw new ApiError('invalid-arguments', `resizeBilinear: a ${sh}x${sw} map has ${sh * sw} values, but ${src.length} were given.`)
  }
  const ys = axis(sh, dh)
  const xs = axis(sw, dw)
  const out = new Float32Array(dh * dw)
  for (let y = 0; y < dh; y++) {
    const r0 = ys.i0[y] * sw
    const r1 = ys.i1[y] * sw
    const fy = ys.t[y]
    for (let x = 0; x < dw; x++) {
      const x0 = xs.i0[x]
      const x1 = xs.i1[x]
      const fx = xs.t[x]
      const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * fx
      const bottom = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * fx
      out[y * dw + x] = top + (bottom - top) * fy
    }
  }
  return out
}

/** For each target index along one axis: the two source indices and the weight of the second. */
function axis(srcLen: number, dstLen: number): { i0: Int32Array; i1: Int32Array; t: Float64Array } {
  const i0 = new Int32Array(dstLen)
  const i1 = new Int32Array(dstLen)
  const t = new Float64Array(dstLen)
  const scale = srcLen / dstLen
  for (let d = 0; d < dstLen; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), srcLen - 1)
    const lo = Math.floor(s)
    i0[d] = lo
    i1[d] = Math.min(lo + 1, srcLen - 1)
    t[d] = s - lo
  }
  return { i0, i1, t }
}
