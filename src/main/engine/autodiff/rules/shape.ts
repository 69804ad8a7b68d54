import type { RuleContext, VjpRule } from '../types'
import { axis, int, ints, reshapeLike, str, unbroadcast, zerosLike } from './helpers'

/** Identity: the gradient passes unchanged. */
export const passThrough: VjpRule = (ctx) => ctx.node.inputs.map((_, i) => (i === 0 ? ctx.dY[0]! : null))

/**
 * Dropout in inference (no training_mode input, or a constant false one; opset < 12 has no training
 * mode and ORT runs it as identity): y = x, so the gradient passes unchanged.
 */
export const dropout: VjpRule = (ctx) => {
  const mode = ctx.node.inputs[2]
  const c = mode ? ctx.constant(mode) : null
  if (mode && (!c || Number(c.data[0]) !== 0)) throw new Error('Dropout in training mode is not supported (export the model in eval mode)')
  return passThrough(ctx)
}

/** Flatten, Reshape, Squeeze, Unsqueeze: same elements, old shape. */
export const reshapeBack: VjpRule = (ctx) => ctx.node.inputs.map((x, i) => (i === 0 ? reshapeLike(ctx, ctx.dY[0]!, x) : null))

/** Transpose: apply the inverse permutation. */
export const transpose: VjpRule = (ctx) => {
  const rank = ctx.shape(ctx.node.inputs[0]).length
  const perm = ints(ctx, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i))
  const inverse = new Array<number>(rank)
  perm.forEach((p, i) => (inverse[p] = i))
  return [ctx.b.op('Transpose', [ctx.dY[0]!], { perm: inverse })]
}

/** Concat: split the gradient back into the pieces' sizes along the axis (static, from the probe). */
export const concat: VjpRule = (ctx) => {
  const rank = ctx.shape(ctx.node.outputs[0]).length
  const ax = axis(int(ctx, 'axis', 0), rank)
  const b = ctx.b
  // Along axis 0 (a batch, or the channels of a conv weight gradient's swapped layout) the pieces'
  // sizes are read at run time, since a batch axis may differ from the probe's.
  const sizes =
    ax === 0
      ? b.op('Concat', ctx.node.inputs.map((x) => b.op('Slice', [b.op('Shape', [x]), b.constI64([0]), b.constI64([1])])), { axis: 0 })
      : b.constI64(ctx.node.inputs.map((x) => ctx.shape(x)[ax]))
  const parts = b.node('Split', [ctx.dY[0]!, sizes], { axis: ax }, ctx.node.inputs.length)
  return parts.map((p, i) => (ctx.needs[i] ? p : null))
}

/** Split: concatenate the pieces' gradients (zeros for pieces nothing used). */
export const split: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const rank = ctx.shape(x).length
  const ax = axis(int(ctx, 'axis', 0), rank)
  const pieces = ctx.node.outputs.map((o, i) => ctx.dY[i] ?? zerosLike(ctx, o))
  return [ctx.b.op('Concat', pieces, { axis: ax }), null]
}

/** Slice (constant starts/ends/axes, any step): scatter the gradient back with zeros elsewhere via Pad. */
export const slice: VjpRule = (ctx) => {
  const [x, startsT, endsT, axesT, stepsT] = ctx.node.inputs
  const xs = ctx.shape(x)
  const rank = xs.length
  const num = (t: string | undefined, fallback: number[]) => {
    if (!t) return fallback
    const c = ctx.constant(t)
    if (!c) throw new Error('Slice with non-constant starts/ends is not supported')
    return Array.from(c.data as ArrayLike<number | bigint>, Number)
  }
  const starts = num(startsT, [])
  const ends = num(endsT, [])
  const axes = num(axesT, starts.map((_, i) => i)).map((a) => axis(a, rank))
  const steps = num(stepsT, starts.map(() => 1))
  if (steps.some((s) => s !== 1)) throw new Error('Slice with steps other than 1 is not supported')
  if (axes.includes(0)) throw new Error('Slice along the batch axis is not supported')
  const pads = new Array(2 * rank).fill(0)
  axes.forEach((a, i) => {
    const dim = xs[a]
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim)
    const begin = clamp(starts[i])
    const end = clamp(ends[i])
    pads[a] = begin
    pads[a + rank] = dim - end
  })
  return [ctx.b.op('Pad', [ctx.dY[0]!, ctx.b.constI64(pads)]), null, null, null, null]
}

/** Pad (constant mode): the gradient is the un-padded window of dY (negative pads are crops). */
export const pad: VjpRule = (ctx) => {
  const [x, padsT] = ctx.node.inputs
  const mode = typeof ctx.node.attrs.mode === 'string' ? ctx.node.attrs.mode : 'constant'
  if (mode !== 'constant') throw new Error(`Pad mode ${mode} is not supported`)
  const c = padsT ? ctx.constant(padsT) : null
  const pads = c ? Array.from(c.data as ArrayLike<number | bigint>, Number) : ints(ctx, 'pads', [])
  if (padsT && !c) throw new Error('Pad with non-constant pads is not supported')
  if (ctx.node.inputs[3]) throw new Error('Pad with an axes input is not supported')
  const rank = ctx.shape(x).length
  // Reversing a pad is padding by the negated amounts (ONNX Pad crops on negative values).
  const negated = pads.map((p) => -p)
  if (negated.slice(0, 1).concat(negated.slice(rank, rank + 1)).some((p) => p !== 0)) throw new Error('Pad on the batch axis is not supported')
  return [ctx.b.op('Pad', [ctx.dY[0]!, ctx.b.constI64(negated)]), null, null]
}

/** Expand (ViT's cls_token.expand(B, -1, -1)): numpy broadcasting, so sum dY over the broadcast axes. */
export const expand: VjpRule = (ctx) => [unbroadcast(ctx, ctx.dY[0]!, ctx.node.inputs[0], ctx.node.outputs[0]), null]

/**
 * Gather with constant indices on a non-batch axis (ViT's x[:, 0]): y[..., j, ...] = x[..., idx[j], ...],
 * so dX[..., d, ...] = sum_j dY[..., j, ...] * H[j, d] with the one-hot H[j, d] = (idx[j] == d); the
 * MatMul adds repeated indices up. dY is viewed as [pre, J, post] (pre keeps the dynamic batch).
 */
export const gather: VjpRule = (ctx) => {
  const [data, indices] = ctx.node.inputs
  const xs = ctx.shape(data)
  const ax = axis(int(ctx, 'axis', 0), xs.length)
  if (ax === 0) throw new Error('Gather along the batch axis is not supported')
  const c = ctx.constant(indices)
  if (!c) throw new Error('Gather with non-constant indices is not supported')
  const depth = xs[ax]
  const ids = Array.from(c.data as ArrayLike<number | bigint>, (v) => (Number(v) < 0 ? Number(v) + depth : Number(v)))
  const oneHot = new Float32Array(ids.length * depth)
  ids.forEach((d, j) => (oneHot[j * depth + d] = 1))
  const post = xs.slice(ax + 1).reduce((p, d) => p * d, 1)
  const b = ctx.b
  const g = b.op('Transpose', [b.op('Reshape', [ctx.dY[0]!, b.constI64([-1, ids.length, post])])], { perm: [0, 2, 1] })
  const scattered = b.op('Transpose', [b.op('MatMul', [g, b.constF32(oneHot, [ids.length, depth])])], { perm: [0, 2, 1] })
  return [reshapeLike(ctx, scattered, data), null]
}

/** The (normalised) axis of ScatterElements / GatherElements. */
function elementsAxis(ctx: RuleContext, data: string): number {
  return axis(int(ctx, 'axis', 0), ctx.shape(data).length)
}

/**
 * ScatterElements (MaxPool's gradient scatters; differentiated again in second order): y = data with
 * y[idx] = updates (reduction none) or += updates (add). dUpdates = GatherElements(dY, idx): each update
 * landed at its index. dData = dY with the overwritten positions zeroed (a scatter of zeros) for none,
 * dY itself for add. mul/max/min are refused.
 */
export const scatterElements: VjpRule = (ctx) => {
  const [data, indices, updates] = ctx.node.inputs
  const reduction = str(ctx, 'reduction', 'none')
  if (reduction !== 'none' && reduction !== 'add') throw new Error(`ScatterElements with reduction ${reduction} is not supported (none and add are)`)
  const ax = elementsAxis(ctx, data)
  const dY = ctx.dY[0]!
  const dData = reduction === 'add' ? dY : ctx.b.op('ScatterElements', [dY, indices, zerosLike(ctx, updates)], { axis: ax })
  return [ctx.needs[0] ? dData : null, null, ctx.needs[2] ? ctx.b.op('GatherElements', [dY, indices], { axis: ax }) : null]
}

/**
 * GatherElements (ScatterElements' update gradient is one): y[i] = data[idx[i]] along the axis, so
 * dData = ScatterElements(zeros, idx, dY, reduction='add'), adding up repeated indices (opset 16).
 */
export const gatherElements: VjpRule = (ctx) => {
  const [data, indices] = ctx.node.inputs
  ctx.b.requireOpset(16)
  const scattered = ctx.b.op('ScatterElements', [zerosLike(ctx, data), indices, ctx.dY[0]!], { axis: elementsAxis(ctx, data), reduction: 'add' })
  return [scattered, null]
}
