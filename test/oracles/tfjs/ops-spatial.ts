import type * as TF from '@tensorflow/tfjs'
import type { Tensor, Tf } from './backend'
import type { OpContext } from './op-context'

/**
 * Convolution, pooling, padding and resizing in ONNX's NCHW semantics on tfjs, whose convolutions and
 * pools are NHWC: each op transposes in and out. ONNX pads (explicit, asymmetric, auto_pad, ceil_mode)
 * become an explicit pad (or crop) followed by a 'valid' tfjs op, and dilations become zeros inserted
 * into the kernel, so every case uses plain tfjs kernels whose gradients tfjs registers (tfjs refuses
 * stride and dilation together, and has no grouped or dilated transposed convolution).
 */

type Pads = [number, number][]

/** Pads (positive) or crops (negative) the two spatial axes of an NCHW tensor. */
export function padSpatial(tf: Tf, x: Tensor, pads: Pads, value: number): Tensor {
  let t = x
  if (pads.some(([b, e]) => b < 0 || e < 0)) {
    const [, , h, w] = t.shape
    const cut = pads.map(([b, e]) => [Math.max(0, -b), Math.max(0, -e)])
    t = tf.slice(t, [0, 0, cut[0][0], cut[1][0]], [-1, -1, h - cut[0][0] - cut[0][1], w - cut[1][0] - cut[1][1]])
  }
  if (pads.some(([b, e]) => b > 0 || e > 0)) {
    const grow = pads.map(([b, e]) => [Math.max(0, b), Math.max(0, e)] as [number, number])
    t = tf.pad(t, [[0, 0], [0, 0], grow[0], grow[1]], value)
  }
  return t
}

/** Inserts f - 1 zeros between neighbours along one axis (dilated kernels, strided transposed convs). */
export function dilate(tf: Tf, t: Tensor, axis: number, f: number): Tensor {
  if (f === 1) return t
  const shape = t.shape
  const n = shape[axis]
  const expanded = tf.reshape(t, [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)])
  const padding = expanded.shape.map((_, i) => (i === axis + 1 ? [0, f - 1] : [0, 0]) as [number, number])
  const merged = tf.reshape(tf.pad(expanded, padding), [...shape.slice(0, axis), n * f, ...shape.slice(axis + 1)])
  return tf.slice(merged, shape.map(() => 0), shape.map((s, i) => (i === axis ? (n - 1) * f + 1 : s)))
}

/** `count` elements from `start`, `step` apart, along one axis; strided by reshaping (tfjs's stridedSlice has no gradient). */
function takeStrided(tf: Tf, t: Tensor, axis: number, start: number, count: number, step: number): Tensor {
  const shape = t.shape
  const span = Math.min((count - 1) * step + 1, shape[axis] - start)
  let s = tf.slice(t, shape.map((_, i) => (i === axis ? start : 0)), shape.map((n, i) => (i === axis ? span : n)))
  if (step === 1) return s
  const padTo = count * step - span
  s = tf.pad(s, shape.map((_, i) => (i === axis ? [0, padTo] : [0, 0]) as [number, number]))
  const split = tf.reshape(s, [...shape.slice(0, axis), count, step, ...shape.slice(axis + 1)])
  const first = tf.slice(split, split.shape.map(() => 0), split.shape.map((n, i) => (i === axis + 1 ? 1 : n)))
  return tf.reshape(first, shape.map((n, i) => (i === axis ? count : n)))
}

interface Geometry {
  k: number[]
  s: number[]
  d: number[]
  pads: Pads
}

/** Reads strides, dilations and pads (explicit or auto_pad) for a 2-D op; 1-D ops come lifted to H = 1. */
function geometry(ctx: OpContext, inHW: number[], k: number[], oneD: boolean): Geometry {
  const lift = (v: number[] | null, fill: number): number[] => (v ? (oneD ? [1, v[0]] : v) : [fill, fill])
  const s = lift(ctx.ints('strides'), 1)
  const d = lift(ctx.ints('dilations'), 1)
  const auto = ctx.str('auto_pad', 'NOTSET')
  let pads: Pads
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    pads = inHW.map((n, i) => {
      const total = Math.max(0, (Math.ceil(n / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n)
      const small = Math.floor(total / 2)
      return (auto === 'SAME_UPPER' ? [small, total - small] : [total - small, small]) as [number, number]
    })
  } else if (auto === 'VALID' || auto === 'NOTSET') {
    const p = auto === 'VALID' ? null : ctx.ints('pads')
    pads = !p ? [[0, 0], [0, 0]] : oneD ? [[0, 0], [p[0], p[1]]] : [[p[0], p[2]], [p[1], p[3]]]
  } else {
    ctx.fail(`auto_pad ${auto} is not an ONNX value`)
  }
  return { k, s, d, pads }
}

/** 1-D ops ([N, C, L]) run as 2-D ones on [N, C, 1, L]; 3-D ones are refused. */
function lift(ctx: OpContext, x: Tensor): { x4: Tensor; oneD: boolean } {
  if (x.rank === 4) return { x4: x, oneD: false }
  if (x.rank === 3) return { x4: ctx.tf.expandDims(x, 2), oneD: true }
  return ctx.fail(`a rank-${x.rank} input (only 1-D and 2-D spatial ops)`)
}

const unlift = (ctx: OpContext, y: Tensor, oneD: boolean): Tensor => (oneD ? ctx.tf.squeeze(y, [2]) : y)

const toNhwc = (tf: Tf, t: Tensor) => tf.transpose(t, [0, 2, 3, 1]) as TF.Tensor4D
const toNchw = (tf: Tf, t: Tensor) => tf.transpose(t, [0, 3, 1, 2])

/** ONNX Conv on NCHW x and [M, C/group, kh, kw] w, stride s, dilation d, explicit pads. */
function convNchw(ctx: OpContext, x: Tensor, w: Tensor, group: number, s: number[], d: number[], pads: Pads): Tensor {
  const tf = ctx.tf
  const [n, c] = x.shape
  const [m, cg, kh, kw] = w.shape
  if (c !== cg * group) ctx.fail(`input has ${c} channels but the weights expect ${cg} x group ${group}`)
  const wk = dilate(tf, dilate(tf, w, 2, d[0]), 3, d[1])
  const xp = padSpatial(tf, x, pads, 0)
  const [khd, kwd] = wk.shape.slice(2) as number[]
  const [hp, wp] = xp.shape.slice(2) as number[]
  const ho = Math.floor((hp - khd) / s[0]) + 1
  const wo = Math.floor((wp - kwd) / s[1]) + 1
  if (ho < 1 || wo < 1) ctx.fail(`the kernel (${khd}x${kwd} dilated) is larger than the padded input (${hp}x${wp})`)
  ctx.cost(2 * n * m * ho * wo * cg * kh * kw)
  const xh = toNhwc(tf, xp)
  const stride: [number, number] = [s[0], s[1]]
  const filter = (t: Tensor) => tf.transpose(t, [2, 3, 1, 0]) as TF.Tensor4D
  let y: Tensor
  if (group === 1) {
    y = tf.conv2d(xh, filter(wk), stride, 'valid')
  } else if (cg === 1 && group === c) {
    // Depthwise: ONNX output channel c * mult + j is tfjs's too.
    const f = tf.transpose(tf.reshape(wk, [c, m / c, khd, kwd]), [2, 3, 0, 1]) as TF.Tensor4D
    y = tf.depthwiseConv2d(xh, f, stride, 'valid')
  } else {
    const xs = tf.split(xh, group, 3)
    const ws = tf.split(wk, group, 0)
    y = tf.concat(xs.map((xi, i) => tf.conv2d(xi as TF.Tensor4D, filter(ws[i]), stride, 'valid')), 3)
  }
  return toNchw(tf, y)
}

export function conv(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const { x4, oneD } = lift(ctx, ctx.x(0))
  const w = oneD ? tf.expandDims(ctx.x(1), 2) : ctx.x(1)
  const g = geometry(ctx, x4.shape.slice(2), w.shape.slice(2), oneD)
  let y = convNchw(ctx, x4, w, ctx.int('group', 1), g.s, g.d, g.pads)
  if (ctx.has(2)) y = tf.add(y, tf.reshape(ctx.x(2), [1, -1, 1, 1]))
  return unlift(ctx, y, oneD)
}

/**
 * ConvTranspose as the convolution it is the adjoint of: zeros inserted between inputs (stride), the
 * kernel flipped with its in/out channels swapped per group, padded by (k - 1) * d - pad (+ output_padding).
 */
export function convTranspose(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const auto = ctx.str('auto_pad', 'NOTSET')
  if (auto !== 'NOTSET' && auto !== 'VALID') ctx.fail(`auto_pad ${auto}`)
  if (ctx.ints('output_shape')) ctx.fail('the output_shape attribute')
  const { x4, oneD } = lift(ctx, ctx.x(0))
  const w = oneD ? tf.expandDims(ctx.x(1), 2) : ctx.x(1)
  const [cin, cog, kh, kw] = w.shape
  const group = ctx.int('group', 1)
  const g = geometry(ctx, x4.shape.slice(2), [kh, kw], oneD)
  const op = ctx.ints('output_padding')
  const outPad = op ? (oneD ? [0, op[0]] : op) : [0, 0]
  const flipped = tf.reverse(
    tf.reshape(tf.transpose(tf.reshape(w, [group, cin / group, cog, kh, kw]), [0, 2, 1, 3, 4]), [group * cog, cin / group, kh, kw]),
    [2, 3]
  )
  const xd = dilate(tf, dilate(tf, x4, 2, g.s[0]), 3, g.s[1])
  const pads = g.pads.map(([b, e], i) => {
    const span = (g.k[i] - 1) * g.d[i]
    return [span - b, span - e + outPad[i]] as [number, number]
  })
  let y = convNchw(ctx, xd, flipped, group, [1, 1], g.d, pads)
  if (ctx.has(2)) y = tf.add(y, tf.reshape(ctx.x(2), [1, -1, 1, 1]))
  return unlift(ctx, y, oneD)
}

/** Pool geometry with ceil_mode folded into extra end padding (or a crop) so a 'valid' pool gives ONNX's size. */
function poolGeometry(ctx: OpContext, x4: Tensor, oneD: boolean): Geometry & { extra: Pads; out: number[] } {
  const ks = ctx.ints('kernel_shape')
  if (!ks) ctx.fail('no kernel_shape')
  const k = oneD ? [1, ks[0]] : ks
  const inHW = x4.shape.slice(2)
  const g = geometry(ctx, inHW, k, oneD)
  const auto = ctx.str('auto_pad', 'NOTSET')
  const ceil = ctx.int('ceil_mode', 0) === 1
  const out = inHW.map((n, i) => {
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return Math.ceil(n / g.s[i])
    const [b, e] = g.pads[i]
    const span = (k[i] - 1) * g.d[i] + 1
    const q = (n + b + e - span) / g.s[i]
    let o = (ceil ? Math.ceil(q) : Math.floor(q)) + 1
    // A last window that would start in the end padding is dropped (PyTorch, onnxruntime).
    if (ceil && (o - 1) * g.s[i] >= n + b) o--
    return o
  })
  const extra = out.map((o, i) => {
    const need = (o - 1) * g.s[i] + (k[i] - 1) * g.d[i] + 1
    return [0, need - (inHW[i] + g.pads[i][0] + g.pads[i][1])] as [number, number]
  })
  return { ...g, extra, out }
}

/** Windows of a padded NCHW tensor as separate strided views, for dilated pools (tfjs pools have no dilation with strides). */
function windows(tf: Tf, xp: Tensor, g: Geometry, out: number[]): Tensor[] {
  const views: Tensor[] = []
  for (let i = 0; i < g.k[0]; i++) {
    const rows = takeStrided(tf, xp, 2, i * g.d[0], out[0], g.s[0])
    for (let j = 0; j < g.k[1]; j++) views.push(takeStrided(tf, rows, 3, j * g.d[1], out[1], g.s[1]))
  }
  return views
}

const dilated = (g: Geometry) => g.d.some((d) => d !== 1)

/** MaxPool's Values output; the Indices output is left out (an error only where something reads it). */
export function maxPool(ctx: OpContext): Tensor[] {
  const tf = ctx.tf
  const { x4, oneD } = lift(ctx, ctx.x(0))
  const g = poolGeometry(ctx, x4, oneD)
  const xp = padSpatial(tf, padSpatial(tf, x4, g.pads, -Infinity), g.extra, -Infinity)
  const y = dilated(g)
    ? windows(tf, xp, g, g.out).reduce((a, b) => tf.maximum(a, b))
    : toNchw(tf, tf.maxPool(toNhwc(tf, xp), [g.k[0], g.k[1]], [g.s[0], g.s[1]], 'valid'))
  return [unlift(ctx, y, oneD)]
}

/**
 * AveragePool as a window sum over the padded input divided by the window sum of a mask: ones over the
 * input (count_include_pad 0) or over input and explicit pads (1), zeros over ceil_mode's extra cells,
 * which is how onnxruntime and PyTorch count.
 */
export function averagePool(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const { x4, oneD } = lift(ctx, ctx.x(0))
  const g = poolGeometry(ctx, x4, oneD)
  const includePad = ctx.int('count_include_pad', 0) === 1
  const ones = tf.ones([1, 1, ...x4.shape.slice(2)])
  const mask = padSpatial(tf, padSpatial(tf, ones, g.pads, includePad ? 1 : 0), g.extra, 0)
  const xp = padSpatial(tf, padSpatial(tf, x4, g.pads, 0), g.extra, 0)
  const pool = (t: Tensor) =>
    dilated(g)
      ? tf.addN(windows(tf, t, g, g.out))
      : toNchw(tf, tf.avgPool(toNhwc(tf, t), [g.k[0], g.k[1]], [g.s[0], g.s[1]], 'valid'))
  return unlift(ctx, tf.div(pool(xp), pool(mask)), oneD)
}

/** Index of a source element for an output element along one axis; edge, reflect and wrap padding. */
function padIndex(mode: string, src: number, n: number): number {
  if (mode === 'edge') return Math.min(n - 1, Math.max(0, src))
  if (mode === 'wrap') return ((src % n) + n) % n
  if (n === 1) return 0
  const period = 2 * (n - 1)
  const m = ((src % period) + period) % period
  return m < n ? m : period - m
}

export function pad(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  const rank = x.rank
  const mode = ctx.str('mode', 'constant')
  const raw = ctx.opset < 11 ? ctx.ints('pads') : ctx.values(1)
  if (!raw) ctx.fail('no pads')
  const value = ctx.opset < 11 ? ctx.float('value', 0) : ctx.scalar(2, 0)
  const axes = (ctx.opset >= 18 ? ctx.values(3) : null)?.map((a) => ctx.axis(a, rank)) ?? x.shape.map((_, i) => i)
  if (raw.length !== 2 * axes.length) ctx.fail(`${raw.length} pads for ${axes.length} axes`)
  const pads: [number, number][] = x.shape.map(() => [0, 0])
  axes.forEach((a, i) => (pads[a] = [raw[i], raw[i + axes.length]]))
  if (mode === 'constant') {
    let t = x
    if (pads.some(([b, e]) => b < 0 || e < 0)) {
      t = tf.slice(t, pads.map(([b]) => Math.max(0, -b)), x.shape.map((n, i) => n - Math.max(0, -pads[i][0]) - Math.max(0, -pads[i][1])))
    }
    return tf.pad(t, pads.map(([b, e]) => [Math.max(0, b), Math.max(0, e)] as [number, number]), value)
  }
  if (mode !== 'edge' && mode !== 'reflect' && mode !== 'wrap') ctx.fail(`mode ${mode}`)
  // Gathers with an index map per axis: one gradient-friendly op for every mode, crops included.
  let t = x
  pads.forEach(([b, e], axis) => {
    if (b === 0 && e === 0) return
    const n = x.shape[axis]
    const idx = Array.from({ length: n + b + e }, (_, j) => padIndex(mode, j - b, n))
    t = tf.gather(t, tf.tensor1d(idx, 'int32'), axis)
  })
  return t
}

/** ONNX's coordinate transformations: the input coordinate an output coordinate samples. */
function sourceCoordinate(ctx: OpContext, mode: string, x: number, inN: number, outN: number, scale: number): number {
  switch (mode) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5
    case 'pytorch_half_pixel':
      return outN > 1 ? (x + 0.5) / scale - 0.5 : 0
    case 'half_pixel_symmetric': {
      const adjustment = outN / (scale * inN)
      return (inN / 2) * (1 - adjustment) + (x + 0.5) / scale - 0.5
    }
    case 'align_corners':
      return outN === 1 ? 0 : (x * (inN - 1)) / (outN - 1)
    case 'asymmetric':
      return x / scale
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale
    default:
      return ctx.fail(`coordinate_transformation_mode ${mode}`)
  }
}

function nearestIndex(ctx: OpContext, mode: string, v: number): number {
  switch (mode) {
    case 'round_prefer_floor':
      return v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v)
    case 'round_prefer_ceil':
      return Math.round(v)
    case 'floor':
      return Math.floor(v)
    case 'ceil':
      return Math.ceil(v)
    default:
      return ctx.fail(`nearest_mode ${mode}`)
  }
}

/**
 * Resize (nearest and linear): gathers along each resized axis with index maps from ONNX's formulas,
 * blending two gathers for linear. Not tf.image.resizeBilinear: in tfjs 4.22 its gradient fails on
 * non-square images (a shape error) and ignores halfPixelCenters (wrong values), so tf.grad through it
 * would be no reference at all.
 */
export function resize(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  const mode = ctx.str('mode', 'nearest')
  if (mode !== 'nearest' && mode !== 'linear') ctx.fail(`mode ${mode}`)
  if (ctx.int('antialias', 0)) ctx.fail('antialias')
  if (ctx.ints('axes')) ctx.fail('the axes attribute')
  const ctm = ctx.str('coordinate_transformation_mode', ctx.opset < 11 ? 'asymmetric' : 'half_pixel')
  const nonEmpty = (v: number[] | null) => (v && v.length ? v : null)
  const scales = nonEmpty(ctx.opset < 11 ? ctx.values(1) : ctx.values(2))
  const sizes = ctx.opset < 11 ? null : nonEmpty(ctx.values(3))
  if (!scales && !sizes) ctx.fail('neither scales nor sizes')
  const inShape = x.shape
  const outShape = sizes ?? inShape.map((n, i) => Math.floor(n * scales![i]))
  if (outShape.length !== inShape.length) ctx.fail(`${outShape.length} sizes for a rank-${inShape.length} input`)
  const scale = (i: number) => (scales ? scales[i] : outShape[i] / inShape[i])
  const changed = inShape.map((n, i) => i).filter((i) => outShape[i] !== inShape[i] || scale(i) !== 1)

  const nearest = ctx.str('nearest_mode', 'round_prefer_floor')
  let t = x
  for (const axis of changed) {
    const inN = inShape[axis]
    const outN = outShape[axis]
    const src = Array.from({ length: outN }, (_, j) => sourceCoordinate(ctx, ctm, j, inN, outN, scale(axis)))
    const clampIdx = (v: number) => Math.min(inN - 1, Math.max(0, v))
    if (mode === 'nearest') {
      t = tf.gather(t, tf.tensor1d(src.map((v) => clampIdx(nearestIndex(ctx, nearest, v))), 'int32'), axis)
      continue
    }
    const pos = src.map((v) => Math.min(inN - 1, Math.max(0, v)))
    const lo = pos.map(Math.floor)
    const hi = lo.map((v) => Math.min(v + 1, inN - 1))
    const wShape = inShape.map((_, i) => (i === axis ? outN : 1))
    const w1 = tf.tensor(pos.map((v, j) => v - lo[j]), wShape)
    const a = tf.gather(t, tf.tensor1d(lo, 'int32'), axis)
    const b = tf.gather(t, tf.tensor1d(hi, 'int32'), axis)
    t = tf.add(a, tf.mul(tf.sub(b, a), w1))
  }
  return t
}
