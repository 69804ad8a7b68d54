import type { VjpRule } from '../types'
import { int, str } from './helpers'

/**
 * Resize (nearest and linear) is linear in x and separable per axis: along each resized axis,
 * y = A x with a constant [out, in] matrix A, so dX = A^T dY. The matrices are built here exactly as
 * onnxruntime's CPU kernel picks its source pixels and weights (upsample.cc / upsamplebase.h: the same
 * coordinate transforms in float32, the same rounding, clamping and border weights), for the last two
 * axes (H, W of NCHW; L of NCL). Batch and channel axes must be left as they are.
 */

const f = Math.fround
type Transform = (x: number, scale: number, outLen: number, inLen: number) => number

const TRANSFORMS: Record<string, Transform> = {
  half_pixel: (x, s) => f(f(f(x + 0.5) / s) - 0.5),
  pytorch_half_pixel: (x, s, out) => (out > 1 ? f(f(f(x + 0.5) / s) - 0.5) : 0),
  asymmetric: (x, s) => f(x / s),
  tf_half_pixel_for_nn: (x, s) => f(f(x + 0.5) / s),
  align_corners: (x, _s, out, inLen) => (out === 1 ? 0 : f(f(x * (inLen - 1)) / (out - 1))),
  half_pixel_symmetric: (x, s, out, inLen) => {
    const adjustment = f(out / f(s * inLen))
    const offset = f(f(inLen / 2) * f(1 - adjustment))
    return f(offset + (x + 0.5) / s - 0.5) // ORT computes this line in double
  }
}

/** C's round(): halves away from zero. */
const cRound = (v: number) => Math.sign(v) * Math.floor(Math.abs(v) + 0.5)
const NEAREST: Record<string, (v: number) => number> = {
  round_prefer_floor: (v) => (v === f(Math.trunc(v) + 0.5) ? Math.floor(v) : cRound(v)),
  round_prefer_ceil: cRound,
  floor: Math.floor,
  ceil: Math.ceil
}

/** The [out, in] interpolation matrix of one axis. */
function axisMatrix(linear: boolean, transform: Transform, nearest: (v: number) => number, inLen: number, outLen: number, scale: number): Float32Array {
  const m = new Float32Array(outLen * inLen)
  for (let o = 0; o < outLen; o++) {
    // A scale of exactly 1 maps each index to itself (ORT skips the transform there).
    const orig = scale === 1 ? o : transform(o, scale, outLen, inLen)
    if (!linear) {
      m[o * inLen + Math.min(Math.max(scale === 1 ? o : nearest(orig), 0), inLen - 1)] = 1
      continue
    }
    const v = Math.min(Math.max(orig, 0), inLen - 1)
    const i1 = Math.min(Math.trunc(v), inLen - 1)
    const i2 = Math.min(i1 + 1, inLen - 1)
    if (i1 === i2) {
      m[o * inLen + i1] += 1
    } else {
      m[o * inLen + i1] += f(Math.abs(v - i2))
      m[o * inLen + i2] += f(Math.abs(v - i1))
    }
  }
  return m
}

export const resize: VjpRule = (ctx) => {
  const [x, , scalesT] = ctx.node.inputs
  const xs = ctx.shape(x)
  const ys = ctx.shape(ctx.node.outputs[0])
  const rank = xs.length
  const mode = str(ctx, 'mode', 'nearest')
  const ctm = str(ctx, 'coordinate_transformation_mode', 'half_pixel')
  if (ctx.index.opset < 11) throw new Error('Resize before opset 11 is not supported')
  if (mode !== 'nearest' && mode !== 'linear') throw new Error(`Resize mode ${mode} is not supported (nearest and linear are)`)
  if (!TRANSFORMS[ctm]) throw new Error(`Resize with coordinate_transformation_mode ${ctm} is not supported`)
  const nearestMode = str(ctx, 'nearest_mode', 'round_prefer_floor')
  if (mode === 'nearest' && !NEAREST[nearestMode]) throw new Error(`Resize with nearest_mode ${nearestMode} is not supported`)
  if (int(ctx, 'antialias', 0) !== 0) throw new Error('Resize with antialias is not supported')
  if ('axes' in ctx.node.attrs || str(ctx, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') {
    throw new Error('Resize with axes or keep_aspect_ratio_policy is not supported')
  }
  // Constant scales are used as given (as ORT does); otherwise the ratio of the static sizes.
  const sc = scalesT ? ctx.constant(scalesT) : null
  const scales = sc && sc.data.length ? Array.from(sc.data as ArrayLike<number>, (v) => f(Number(v))) : xs.map((d, i) => f(ys[i] / d))
  const resized = xs.map((d, i) => d !== ys[i] || scales[i] !== 1)
  // Resized axes: the last two of NCHW (or more), the last one of NCL.
  const first = Math.max(2, rank - 2)
  if (rank < 3 || resized.slice(0, first).some(Boolean)) throw new Error('Resize of axes other than the last two spatial ones is not supported')
  const matrix = (a: number) => axisMatrix(mode === 'linear', TRANSFORMS[ctm], NEAREST[nearestMode], xs[a], ys[a], scales[a])
  const b = ctx.b
  let g = ctx.dY[0]!
  // Last axis: dX = dY A, with A [out, in].
  if (resized[rank - 1]) g = b.op('MatMul', [g, b.constF32(matrix(rank - 1), [ys[rank - 1], xs[rank - 1]])])
  // Second-to-last axis: dX = A^T dY, A^T [in, out] broadcast over the leading axes.
  if (rank - 2 >= first && resized[rank - 2]) {
    const a = matrix(rank - 2)
    const [outLen, inLen] = [ys[rank - 2], xs[rank - 2]]
    const t = new Float32Array(inLen * outLen)
    for (let o = 0; o < outLen; o++) for (let i = 0; i < inLen; i++) t[i * outLen + o] = a[o * inLen + i]
    g = b.op('MatMul', [b.constF32(t, [inLen, outLen]), g])
  }
  return [g, null, null, null]
}
