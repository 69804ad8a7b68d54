import type * as TF from '@tensorflow/tfjs'
import type { Tensor, Tf } from './backend'
import type { OpContext, OpImpl } from './op-context'
import { averagePool, conv, convTranspose, maxPool, pad, resize } from './ops-spatial'

/**
 * ONNX ops on tfjs ops, one entry per op type (the executor refuses a graph with an op not here,
 * naming it and its node). Float tensors are float32; ONNX's int64 shape arithmetic runs in int32,
 * which holds every shape and index a classifier computes.
 */

const prod = (v: number[]) => v.reduce((p, d) => p * d, 1)

/** The shape two shapes broadcast to (numpy rules), as Expand and Where need it. */
function broadcastShape(ctx: OpContext | null, a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length)
  const pa = [...Array(rank - a.length).fill(1), ...a]
  const pb = [...Array(rank - b.length).fill(1), ...b]
  return pa.map((d, i) => {
    if (d === pb[i] || pb[i] === 1) return d
    if (d === 1) return pb[i]
    const problem = `shapes [${a}] and [${b}] do not broadcast`
    if (ctx) return ctx.fail(problem)
    throw new Error(problem)
  })
}

function broadcastTo(tf: Tf, t: Tensor, shape: number[]): Tensor {
  if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t
  const lifted = tf.reshape(t, [...Array(shape.length - t.rank).fill(1), ...t.shape])
  return tf.broadcastTo(lifted, shape)
}

/** Softmax-family ops: opset 13+ normalise along one axis; older opsets over the flattened [axis:] block. */
function softmaxLike(fn: (tf: Tf, t: Tensor) => Tensor): OpImpl {
  return (ctx) => {
    const tf = ctx.tf
    const x = ctx.x(0)
    if (ctx.opset < 13) {
      const axis = ctx.axis(ctx.int('axis', 1), x.rank)
      const flat = tf.reshape(x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))])
      return tf.reshape(fn(tf, flat), x.shape)
    }
    const axis = ctx.axis(ctx.int('axis', -1), x.rank)
    if (axis === x.rank - 1) return fn(tf, x)
    const perm = x.shape.map((_, i) => i)
    ;[perm[axis], perm[x.rank - 1]] = [perm[x.rank - 1], perm[axis]]
    return tf.transpose(fn(tf, tf.transpose(x, perm)), perm)
  }
}

/** Reductions: axes from the attribute or (ReduceSum from opset 13, the rest from 18) an input. */
function reduce(fn: (tf: Tf, t: Tensor, axes: number[], keep: boolean) => Tensor, axesInputFrom: number): OpImpl {
  return (ctx) => {
    const x = ctx.x(0)
    const keep = ctx.int('keepdims', 1) === 1
    const given = ctx.opset >= axesInputFrom ? ctx.values(1) : ctx.ints('axes')
    let axes: number[]
    if (given && given.length) axes = given.map((a) => ctx.axis(a, x.rank))
    else if (ctx.int('noop_with_empty_axes', 0) === 1) return ctx.tf.clone(x)
    else axes = x.shape.map((_, i) => i)
    return fn(ctx.tf, x, axes, keep)
  }
}

const variadic = (fn: (tf: Tf, a: Tensor, b: Tensor) => Tensor): OpImpl => (ctx) =>
  ctx.inputs.filter((t): t is Tensor => !!t).reduce((a, b) => fn(ctx.tf, a, b))

/**
 * Max / Min with operands broadcast first: tfjs 4.22's Maximum / Minimum gradients return the
 * broadcast shape for a broadcast operand instead of summing it back.
 */
const extremum = (fn: (tf: Tf, a: Tensor, b: Tensor) => Tensor): OpImpl =>
  variadic((tf, a, b) => {
    const shape = broadcastShape(null, a.shape, b.shape)
    return fn(tf, broadcastTo(tf, a, shape), broadcastTo(tf, b, shape))
  })

const unary = (fn: (tf: Tf, t: Tensor) => Tensor): OpImpl => (ctx) => fn(ctx.tf, ctx.x(0))
const binary = (fn: (tf: Tf, a: Tensor, b: Tensor) => Tensor): OpImpl => (ctx) => fn(ctx.tf, ctx.x(0), ctx.x(1))

const ELEM: Record<number, 'float32' | 'int32' | 'bool'> = { 1: 'float32', 10: 'float32', 11: 'float32', 6: 'int32', 7: 'int32', 3: 'int32', 2: 'int32', 5: 'int32', 4: 'int32', 12: 'int32', 13: 'int32', 9: 'bool' }

/** Per-channel parameters [C] shaped to broadcast over NC... */
const perChannel = (tf: Tf, t: Tensor, rank: number) => tf.reshape(t, [1, -1, ...Array(rank - 2).fill(1)])

function batchNormalization(ctx: OpContext): (Tensor | undefined)[] {
  const tf = ctx.tf
  const x = ctx.x(0)
  const eps = ctx.float('epsilon', 1e-5)
  const [scale, bias] = [perChannel(tf, ctx.x(1), x.rank), perChannel(tf, ctx.x(2), x.rank)]
  if (ctx.int('training_mode', 0) === 1) {
    // Batch statistics (biased variance), as onnxruntime's training mode normalises.
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1)
    const { mean, variance } = tf.moments(x, axes, true)
    const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), scale), bias)
    // The running statistics outputs: input statistics * momentum + batch statistics * (1 - momentum).
    const momentum = ctx.float('momentum', 0.9)
    const running = (i: number, batch: Tensor) => tf.add(tf.mul(ctx.x(i), momentum), tf.mul(tf.reshape(batch, [-1]), 1 - momentum))
    return [y, running(3, mean), running(4, variance)]
  }
  const [mean, variance] = [perChannel(tf, ctx.x(3), x.rank), perChannel(tf, ctx.x(4), x.rank)]
  return [tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), scale), bias)]
}

function layerNormalization(ctx: OpContext): Tensor[] {
  const tf = ctx.tf
  const x = ctx.x(0)
  const axis = ctx.axis(ctx.int('axis', -1), x.rank)
  const axes = x.shape.map((_, i) => i).filter((i) => i >= axis)
  const { mean, variance } = tf.moments(x, axes, true)
  const inv = tf.rsqrt(tf.add(variance, ctx.float('epsilon', 1e-5)))
  let y = tf.mul(tf.mul(tf.sub(x, mean), inv), ctx.x(1))
  if (ctx.has(2)) y = tf.add(y, ctx.x(2))
  return [y, mean, inv]
}

function instanceNormalization(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  const axes = x.shape.map((_, i) => i).filter((i) => i >= 2)
  const { mean, variance } = tf.moments(x, axes, true)
  const y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, ctx.float('epsilon', 1e-5))))
  return tf.add(tf.mul(y, perChannel(tf, ctx.x(1), x.rank)), perChannel(tf, ctx.x(2), x.rank))
}

function gemm(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const [a, b] = [ctx.x(0), ctx.x(1)]
  const transA = ctx.int('transA', 0) === 1
  const transB = ctx.int('transB', 0) === 1
  const [m, k] = (transA ? [a.shape[1], a.shape[0]] : a.shape) as number[]
  const n = (transB ? b.shape[0] : b.shape[1]) as number
  ctx.cost(2 * m * k * n)
  let y = tf.matMul(a, b, transA, transB)
  const alpha = ctx.float('alpha', 1)
  if (alpha !== 1) y = tf.mul(y, alpha)
  if (ctx.has(2)) {
    const beta = ctx.float('beta', 1)
    y = tf.add(y, beta === 1 ? ctx.x(2) : tf.mul(ctx.x(2), beta))
  }
  return y
}

/** MatMul with numpy semantics: batch axes broadcast, 1-D operands promoted and the added axis dropped. */
function matMul(ctx: OpContext): Tensor {
  const tf = ctx.tf
  let [a, b] = [ctx.x(0), ctx.x(1)]
  const [aVec, bVec] = [a.rank === 1, b.rank === 1]
  if (aVec) a = tf.expandDims(a, 0)
  if (bVec) b = tf.expandDims(b, 1)
  const batch = broadcastShape(ctx, a.shape.slice(0, -2), b.shape.slice(0, -2))
  ctx.cost(2 * prod(batch) * a.shape[a.rank - 2] * a.shape[a.rank - 1] * b.shape[b.rank - 1])
  // Batch axes broadcast explicitly: tfjs 4.22's BatchMatMul gradient does not sum a broadcast operand back.
  if (batch.length) {
    a = broadcastTo(tf, a, [...batch, ...a.shape.slice(-2)])
    b = broadcastTo(tf, b, [...batch, ...b.shape.slice(-2)])
  }
  let y = tf.matMul(a, b)
  if (aVec) y = tf.squeeze(y, [y.rank - 2])
  if (bVec) y = tf.squeeze(y, [y.rank - 1])
  return y
}

function clip(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const lo = ctx.opset < 11 ? ctx.float('min', -Infinity) : ctx.scalar(1, -Infinity)
  const hi = ctx.opset < 11 ? ctx.float('max', Infinity) : ctx.scalar(2, Infinity)
  let y = ctx.x(0)
  // clipByValue wants finite bounds; one-sided clips are a max or a min.
  if (lo !== -Infinity && hi !== Infinity) return tf.clipByValue(y, lo, hi)
  if (lo !== -Infinity) y = tf.maximum(y, tf.scalar(lo, y.dtype))
  if (hi !== Infinity) y = tf.minimum(y, tf.scalar(hi, y.dtype))
  return lo === -Infinity && hi === Infinity ? tf.clone(y) : y
}

const hardSigmoidOf = (tf: Tf, x: Tensor, alpha: number, beta: number) => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1)

function slice(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  const old = ctx.opset < 10
  const starts = old ? ctx.ints('starts') : ctx.values(1)
  const ends = old ? ctx.ints('ends') : ctx.values(2)
  if (!starts || !ends) ctx.fail('no starts or ends')
  const axes = (old ? ctx.ints('axes') : ctx.values(3)) ?? starts.map((_, i) => i)
  const steps = (old ? null : ctx.values(4)) ?? starts.map(() => 1)
  const begin = x.shape.map(() => 0)
  const size = [...x.shape]
  const gathers: [number, number[]][] = []
  axes.forEach((a0, i) => {
    const a = ctx.axis(a0, x.rank)
    const n = x.shape[a]
    const step = steps[i]
    if (step === 0) ctx.fail('a step of 0')
    const norm = (v: number) => (v < 0 ? v + n : v)
    if (step > 0) {
      const s = Math.min(n, Math.max(0, norm(starts[i])))
      const e = Math.min(n, Math.max(0, norm(ends[i])))
      if (step === 1) {
        begin[a] = s
        size[a] = Math.max(0, e - s)
        return
      }
      gathers.push([a, Array.from({ length: Math.max(0, Math.ceil((e - s) / step)) }, (_, j) => s + j * step)])
    } else {
      const s = Math.min(n - 1, Math.max(-1, norm(starts[i])))
      const e = Math.min(n - 1, Math.max(-1, norm(ends[i])))
      gathers.push([a, Array.from({ length: Math.max(0, Math.ceil((s - e) / -step)) }, (_, j) => s + j * step)])
    }
  })
  let y = tf.slice(x, begin, size)
  // Other steps gather (tfjs's stridedSlice has no gradient).
  for (const [a, idx] of gathers) y = tf.gather(y, tf.tensor1d(idx, 'int32'), a)
  return y
}

function reshape(ctx: OpContext): Tensor {
  const x = ctx.x(0)
  const shape = ctx.opset < 5 ? ctx.ints('shape') : ctx.values(1)
  if (!shape) ctx.fail('no shape')
  const allowZero = ctx.int('allowzero', 0) === 1
  return ctx.tf.reshape(x, shape.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d)))
}

function squeeze(ctx: OpContext): Tensor {
  const x = ctx.x(0)
  const given = ctx.axesFrom('axes', 1)
  const axes = given && given.length ? given.map((a) => ctx.axis(a, x.rank)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
  for (const a of axes) if (x.shape[a] !== 1) ctx.fail(`axis ${a} has size ${x.shape[a]}, not 1`)
  return ctx.tf.reshape(x, x.shape.filter((_, i) => !axes.includes(i)))
}

function unsqueeze(ctx: OpContext): Tensor {
  const x = ctx.x(0)
  const given = ctx.axesFrom('axes', 1)
  if (!given) ctx.fail('no axes')
  const rank = x.rank + given.length
  const axes = given.map((a) => ctx.axis(a, rank))
  const shape: number[] = []
  let j = 0
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++])
  return ctx.tf.reshape(x, shape)
}

function split(ctx: OpContext): Tensor[] {
  const x = ctx.x(0)
  const axis = ctx.axis(ctx.int('axis', 0), x.rank)
  const parts = ctx.node.outputs.length
  const given = ctx.opset < 13 ? ctx.ints('split') : ctx.values(1)
  let sizes: number[]
  if (given && given.length) sizes = given
  else {
    const n = x.shape[axis]
    const each = Math.ceil(n / parts)
    sizes = Array.from({ length: parts }, (_, i) => Math.min(each, n - i * each))
  }
  return ctx.tf.split(x, sizes, axis)
}

/** Gather with ONNX's negative indices (tfjs's gather needs them in range). */
function gather(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  const axis = ctx.axis(ctx.int('axis', 0), x.rank)
  const n = x.shape[axis]
  const idx = ctx.x(1)
  const fixed = Array.from(idx.dataSync() as ArrayLike<number>, (v) => (v < 0 ? v + n : v))
  return tf.gather(x, tf.tensor(fixed, idx.shape, 'int32'), axis)
}

/** Flat positions of GatherElements / ScatterElements indices in their data tensor. */
function flatPositions(ctx: OpContext, dataShape: number[], idx: Tensor, axis: number): number[] {
  const values = idx.dataSync() as ArrayLike<number>
  const strides = dataShape.map((_, i) => prod(dataShape.slice(i + 1)))
  const idxStrides = idx.shape.map((_, i) => prod(idx.shape.slice(i + 1)))
  const out: number[] = []
  for (let f = 0; f < values.length; f++) {
    let pos = 0
    for (let d = 0; d < idx.rank; d++) {
      let c = Math.floor(f / idxStrides[d]) % idx.shape[d]
      if (d === axis) c = values[f] < 0 ? values[f] + dataShape[axis] : values[f]
      pos += c * strides[d]
    }
    out.push(pos)
  }
  return out
}

function gatherElements(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  const idx = ctx.x(1)
  const pos = flatPositions(ctx, x.shape, idx, ctx.axis(ctx.int('axis', 0), x.rank))
  return tf.reshape(tf.gather(tf.reshape(x, [-1]), tf.tensor1d(pos, 'int32')), idx.shape)
}

/** Scatter as a segment sum of the updates (its gradient is a gather), over the data with hit cells masked out. */
function scatterElements(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const [data, idx, updates] = [ctx.x(0), ctx.x(1), ctx.x(2)]
  const reduction = ctx.str('reduction', 'none')
  if (reduction !== 'none' && reduction !== 'add') ctx.fail(`reduction ${reduction}`)
  const pos = flatPositions(ctx, data.shape, idx, ctx.axis(ctx.int('axis', 0), data.rank))
  const total = prod(data.shape)
  const summed = tf.unsortedSegmentSum(tf.reshape(updates, [-1]), tf.tensor1d(pos, 'int32'), total)
  let base = tf.reshape(data, [-1])
  if (reduction === 'none') {
    const keep = new Float32Array(total).fill(1)
    for (const p of pos) keep[p] = 0
    base = tf.mul(base, tf.tensor1d(keep))
  }
  return tf.reshape(tf.add(base, summed), data.shape)
}

/** MaxUnpool: values placed at MaxPool's flat indices in a zero tensor of the given (or inferred) shape. */
function maxUnpool(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const [x, idx] = [ctx.x(0), ctx.x(1)]
  let shape = ctx.values(2)
  if (!shape) {
    const k = ctx.ints('kernel_shape') ?? ctx.fail('no kernel_shape')
    const s = ctx.ints('strides') ?? k.map(() => 1)
    const p = ctx.ints('pads') ?? [...k, ...k].map(() => 0)
    shape = [...x.shape.slice(0, 2), ...k.map((kk, i) => (x.shape[i + 2] - 1) * s[i] + kk - p[i] - p[i + k.length])]
  }
  const flat = Array.from(idx.dataSync() as ArrayLike<number>)
  return tf.reshape(tf.unsortedSegmentSum(tf.reshape(x, [-1]), tf.tensor1d(flat, 'int32'), prod(shape)), shape)
}

function constant(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const a = ctx.node.attrs
  if (typeof a.value_float === 'number') return tf.scalar(a.value_float)
  if (Array.isArray(a.value_floats)) return tf.tensor1d(a.value_floats as number[])
  if (typeof a.value_int === 'number') return tf.scalar(a.value_int, 'int32')
  if (Array.isArray(a.value_ints)) return tf.tensor1d(a.value_ints as number[], 'int32')
  return ctx.fail('a value the executor reads only from initializers (sparse or string)')
}

function dropout(ctx: OpContext): Tensor[] {
  const training = ctx.opset >= 12 && ctx.has(2) && ctx.scalar(2, 0) !== 0
  if (training || (ctx.opset < 7 && ctx.int('is_test', 0) === 0)) ctx.fail('training mode (random masks)')
  const x = ctx.x(0)
  return [ctx.tf.clone(x), ctx.tf.onesLike(x).cast('bool')]
}

function where(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const [c, a, b] = [ctx.x(0), ctx.x(1), ctx.x(2)]
  const shape = broadcastShape(ctx, broadcastShape(ctx, c.shape, a.shape), b.shape)
  return tf.where(broadcastTo(tf, c, shape), broadcastTo(tf, a, shape), broadcastTo(tf, b, shape))
}

function expand(ctx: OpContext): Tensor {
  const x = ctx.x(0)
  const shape = ctx.values(1) ?? ctx.fail('no shape')
  return broadcastTo(ctx.tf, x, broadcastShape(ctx, x.shape, shape))
}

function flatten(ctx: OpContext): Tensor {
  const x = ctx.x(0)
  const axis = ctx.int('axis', 1)
  const a = axis < 0 ? axis + x.rank : axis
  return ctx.tf.reshape(x, [prod(x.shape.slice(0, a)), prod(x.shape.slice(a))])
}

function shape(ctx: OpContext): Tensor {
  const x = ctx.x(0)
  const norm = (v: number) => Math.min(x.rank, Math.max(0, v < 0 ? v + x.rank : v))
  const dims = x.shape.slice(norm(ctx.int('start', 0)), norm(ctx.int('end', x.rank)))
  return ctx.tf.tensor1d(dims, 'int32')
}

function gelu(ctx: OpContext): Tensor {
  const tf = ctx.tf
  const x = ctx.x(0)
  if (ctx.str('approximate', 'none') === 'tanh') {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1))
  }
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))
}

/** PRelu as relu(x) - slope * relu(-x): the slope broadcasts like any ONNX operand and gets a gradient. */
const pRelu: OpImpl = (ctx) => {
  const tf = ctx.tf
  const x = ctx.x(0)
  return tf.sub(tf.relu(x), tf.mul(ctx.x(1), tf.relu(tf.neg(x))))
}

function argExtreme(fn: (tf: Tf, t: Tensor, axis: number) => Tensor): OpImpl {
  return (ctx) => {
    const x = ctx.x(0)
    if (ctx.int('select_last_index', 0)) ctx.fail('select_last_index')
    const axis = ctx.axis(ctx.int('axis', 0), x.rank)
    const y = fn(ctx.tf, x, axis)
    return ctx.int('keepdims', 1) === 1 ? ctx.tf.expandDims(y, axis) : y
  }
}

export const TFJS_OPS: Readonly<Record<string, OpImpl>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matMul,
  Add: binary((tf, a, b) => tf.add(a, b)),
  Sub: binary((tf, a, b) => tf.sub(a, b)),
  Mul: binary((tf, a, b) => tf.mul(a, b)),
  Div: binary((tf, a, b) => (a.dtype === 'int32' ? tf.floorDiv(a, b) : tf.div(a, b))),
  Pow: binary((tf, a, b) => tf.pow(a, b)),
  Neg: unary((tf, t) => tf.neg(t)),
  Sqrt: unary((tf, t) => tf.sqrt(t)),
  Reciprocal: unary((tf, t) => tf.reciprocal(t)),
  Exp: unary((tf, t) => tf.exp(t)),
  Log: unary((tf, t) => tf.log(t)),
  Abs: unary((tf, t) => tf.abs(t)),
  Sum: variadic((tf, a, b) => tf.add(a, b)),
  Max: extremum((tf, a, b) => tf.maximum(a, b)),
  Min: extremum((tf, a, b) => tf.minimum(a, b)),
  Mean: (ctx) => ctx.tf.div(TFJS_OPS.Sum(ctx) as Tensor, ctx.inputs.filter(Boolean).length),
  Where: where,
  Relu: unary((tf, t) => tf.relu(t)),
  LeakyRelu: (ctx) => ctx.tf.leakyRelu(ctx.x(0), ctx.float('alpha', 0.01)),
  PRelu: pRelu,
  Sigmoid: unary((tf, t) => tf.sigmoid(t)),
  Tanh: unary((tf, t) => tf.tanh(t)),
  Softplus: unary((tf, t) => tf.softplus(t)),
  Erf: unary((tf, t) => tf.erf(t)),
  Gelu: gelu,
  Clip: clip,
  HardSigmoid: (ctx) => hardSigmoidOf(ctx.tf, ctx.x(0), ctx.float('alpha', 0.2), ctx.float('beta', 0.5)),
  HardSwish: (ctx) => ctx.tf.mul(ctx.x(0), hardSigmoidOf(ctx.tf, ctx.x(0), 1 / 6, 0.5)),
  Softmax: softmaxLike((tf, t) => tf.softmax(t)),
  LogSoftmax: softmaxLike((tf, t) => tf.logSoftmax(t)),
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  InstanceNormalization: instanceNormalization,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: (ctx) => ctx.tf.mean(ctx.x(0), ctx.x(0).shape.map((_, i) => i).slice(2), true),
  GlobalMaxPool: (ctx) => ctx.tf.max(ctx.x(0), ctx.x(0).shape.map((_, i) => i).slice(2), true),
  MaxUnpool: maxUnpool,
  ReduceMean: reduce((tf, t, axes, keep) => tf.mean(t, axes, keep), 18),
  ReduceSum: reduce((tf, t, axes, keep) => tf.sum(t, axes, keep), 13),
  ReduceMax: reduce((tf, t, axes, keep) => tf.max(t, axes, keep), 18),
  ReduceMin: reduce((tf, t, axes, keep) => tf.min(t, axes, keep), 18),
  ArgMax: argExtreme((tf, t, axis) => tf.argMax(t, axis)),
  ArgMin: argExtreme((tf, t, axis) => tf.argMin(t, axis)),
  Identity: (ctx) => ctx.tf.clone(ctx.x(0)),
  Dropout: dropout,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: (ctx) => ctx.tf.transpose(ctx.x(0), ctx.ints('perm') ?? undefined),
  Concat: (ctx) => {
    const parts = ctx.inputs.filter((t): t is Tensor => !!t)
    return ctx.tf.concat(parts, ctx.axis(ctx.int('axis', 0), parts[0].rank))
  },
  Split: split,
  Slice: slice,
  Pad: pad,
  Expand: expand,
  Gather: gather,
  GatherElements: gatherElements,
  ScatterElements: scatterElements,
  Resize: resize,
  Constant: constant,
  Shape: shape,
  Cast: (ctx) => {
    const to = ELEM[ctx.int('to', 1)] ?? ctx.fail(`a cast to ONNX type ${ctx.int('to', 1)}`)
    return ctx.tf.cast(ctx.x(0), to as TF.DataType)
  },
  Equal: binary((tf, a, b) => tf.equal(a, b)),
  Less: binary((tf, a, b) => tf.less(a, b)),
  Greater: binary((tf, a, b) => tf.greater(a, b)),
  Not: unary((tf, t) => tf.logicalNot(t)),
  And: binary((tf, a, b) => tf.logicalAnd(a, b)),
  Or: binary((tf, a, b) => tf.logicalOr(a, b))
}

export const TFJS_SUPPORTED_OPS = Object.keys(TFJS_OPS).sort()
