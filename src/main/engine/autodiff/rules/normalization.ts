import type { RuleContext, VjpRule } from '../types'
import { axis, float, int, unbroadcast } from './helpers'

/**
 * BatchNormalization. Inference mode (the default) is a per-channel affine map with constant
 * statistics: y = xhat * scale + bias, xhat = (x - mean) / sqrt(var + eps), so dX = dY * scale / sqrt(var + eps),
 * dScale = sum of dY * xhat and dBias = sum of dY over [0, 2, ...] (training the affine part, as fine-tuning
 * a frozen-statistics backbone does). training_mode=1 (opset 14+, as in MAML's inner loop) normalises
 * with the batch's own statistics, so x also moves them: see batchNormTraining.
 */
export const batchNormalization: VjpRule = (ctx) => {
  const [x, scale, , mean, variance] = ctx.node.inputs
  if (ctx.node.attrs.training_mode === 1) return batchNormTraining(ctx)
  // Before opset 14, training is signalled by the extra (statistics) outputs.
  if (ctx.node.outputs.filter(Boolean).length > 1) {
    throw new Error('BatchNormalization in training mode before opset 14 is not supported (export the model in eval mode, or with training_mode=1 at opset 14+)')
  }
  if (ctx.needs[3] || ctx.needs[4]) throw new Error('gradients of the BatchNormalization running mean / var are not supported (they are statistics, not trained weights)')
  const b = ctx.b
  const s = ctx.constant(scale)
  const v = ctx.constant(variance)
  const rank = ctx.shape(x).length
  const eps = float(ctx, 'epsilon', 1e-5)
  const channels = ctx.shape(x)[1]
  const shape = [1, channels, ...new Array(rank - 2).fill(1)]
  const perChannel = (t: string) => b.op('Reshape', [t, b.constI64(shape)])
  // 1 / sqrt(var + eps): a folded constant when var is one, else computed from the graph tensor.
  const invStd = () =>
    v
      ? b.constF32(Array.from(v.data as ArrayLike<number>, (val) => 1 / Math.sqrt(Number(val) + eps)), shape)
      : perChannel(b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.constF32([eps], [])])])]))
  const dY = ctx.dY[0]!
  const grads: (string | null)[] = [null, null, null, null, null]
  if (ctx.needs[0]) {
    // One folded constant when scale is a constant too.
    const factor = s && v ? b.constF32(Array.from(s.data as ArrayLike<number>, (sc, c) => Number(sc) / Math.sqrt(Number(v.data[c]) + eps)), shape) : b.op('Mul', [perChannel(scale), invStd()])
    grads[0] = b.op('Mul', [dY, factor])
  }
  const sumNHW = (t: string) => b.op('ReduceSum', [t, b.constI64([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)])], { keepdims: 0 })
  if (ctx.needs[1]) grads[1] = sumNHW(b.op('Mul', [dY, b.op('Mul', [b.op('Sub', [x, perChannel(mean)]), invStd()])]))
  if (ctx.needs[2]) grads[2] = sumNHW(dY)
  return grads
}

/**
 * BatchNormalization with training_mode=1: statistics over [0, 2, ...] of x itself (population
 * variance), dX = (g - mean(g) - xhat * mean(g * xhat)) * invStd with g = dY * scale; dScale and dBias
 * as in inference. The count per channel is Size(x) / C at run time: the graph is probed at one batch
 * and run at others. The running mean / var inputs do not enter y, so they get no gradient; gradients
 * through the running-statistics outputs are refused.
 */
function batchNormTraining(ctx: RuleContext): (string | null)[] {
  const [x, scale] = ctx.node.inputs
  if (ctx.dY.slice(1).some(Boolean)) throw new Error('gradients through the running mean / var outputs of BatchNormalization are not supported')
  const b = ctx.b
  const xs = ctx.shape(x)
  const axes = [0, ...Array.from({ length: xs.length - 2 }, (_, i) => i + 2)]
  const count = b.op('Div', [b.op('Cast', [b.op('Size', [x])], { to: 1 }), b.constF32([xs[1]], [])])
  const dY = ctx.dY[0]!
  const g = b.op('Mul', [dY, b.op('Reshape', [scale, b.constI64([1, xs[1], ...axes.slice(1).map(() => 1)])])])
  const { dX, xhat } = normalizedBackward(ctx, x, axes, float(ctx, 'epsilon', 1e-5), g, count)
  const sumNHW = (t: string) => b.op('ReduceSum', [t, b.constI64(axes)], { keepdims: 0 })
  return [ctx.needs[0] ? dX : null, ctx.needs[1] ? sumNHW(b.op('Mul', [dY, xhat])) : null, ctx.needs[2] ? sumNHW(dY) : null, null, null]
}

/**
 * The input gradient of y = xhat * scale + bias with xhat = (x - mean) / sqrt(var + eps) over `axes`
 * (statistics from x itself, n elements per group), given g = dY * scale:
 *   dX = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps).
 * The statistics are recomputed from x with ReduceSum / n (axes as an input: opset 13 and later); n is
 * a run-time tensor when the axes include the batch (`count`), else the static product.
 */
function normalizedBackward(ctx: RuleContext, x: string, axes: number[], eps: number, g: string, count?: string): { dX: string; xhat: string } {
  const b = ctx.b
  const xs = ctx.shape(x)
  const n = count ?? b.constF32([axes.reduce((p, a) => p * xs[a], 1)], [])
  const axesT = b.constI64(axes)
  const mean = (t: string) => b.op('Div', [b.op('ReduceSum', [t, axesT], { keepdims: 1 }), n])
  const centered = b.op('Sub', [x, mean(x)])
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [mean(b.op('Mul', [centered, centered])), b.constF32([eps], [])])])])
  const xhat = b.op('Mul', [centered, invStd])
  const inner = b.op('Sub', [b.op('Sub', [g, mean(g)]), b.op('Mul', [xhat, mean(b.op('Mul', [g, xhat]))])])
  return { dX: b.op('Mul', [inner, invStd]), xhat }
}

/**
 * LayerNormalization (opset 17; ViT, ConvNeXt): normalised over axes [axis, rank). dScale = sum of
 * dY * xhat and dBias = sum of dY over the leading axes (unbroadcast). The Mean / InvStdDev outputs
 * are training-only; a gradient through them is refused.
 */
export const layerNormalization: VjpRule = (ctx) => {
  const [x, scale, bias] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  if (ctx.dY.slice(1).some(Boolean)) throw new Error('gradients through the Mean / InvStdDev outputs of LayerNormalization are not supported')
  const rank = ctx.shape(x).length
  const ax = axis(int(ctx, 'axis', -1), rank)
  // Statistics over the batch axis would count the probed batch into n.
  if (ax === 0) throw new Error('LayerNormalization over the batch axis is not supported')
  const axes = Array.from({ length: rank - ax }, (_, i) => ax + i)
  const dY = ctx.dY[0]!
  const { dX, xhat } = normalizedBackward(ctx, x, axes, float(ctx, 'epsilon', 1e-5), ctx.b.op('Mul', [dY, scale]))
  return [
    ctx.needs[0] ? dX : null,
    ctx.needs[1] ? unbroadcast(ctx, ctx.b.op('Mul', [dY, xhat]), scale, y) : null,
    bias && ctx.needs[2] ? unbroadcast(ctx, dY, bias, y) : null
  ]
}

/** InstanceNormalization: normalised per (sample, channel) over the spatial axes; scale and bias are [C]. */
export const instanceNormalization: VjpRule = (ctx) => {
  const [x, scale] = ctx.node.inputs
  const rank = ctx.shape(x).length
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2)
  const perChannel = [1, ctx.shape(x)[1], ...spatial.map(() => 1)]
  const dY = ctx.dY[0]!
  const g = ctx.b.op('Mul', [dY, ctx.b.op('Reshape', [scale, ctx.b.constI64(perChannel)])])
  const { dX, xhat } = normalizedBackward(ctx, x, spatial, float(ctx, 'epsilon', 1e-5), g)
  const sumOverNHW = (t: string) => ctx.b.op('ReduceSum', [t, ctx.b.constI64([0, ...spatial])], { keepdims: 0 })
  return [ctx.needs[0] ? dX : null, ctx.needs[1] ? sumOverNHW(ctx.b.op('Mul', [dY, xhat])) : null, ctx.needs[2] ? sumOverNHW(dY) : null]
}
