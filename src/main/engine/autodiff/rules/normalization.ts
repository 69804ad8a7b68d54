import type { RuleContext, VjpRule } from '../types'
import { axis, float, int, unbroadcast } from './helpers'

/**
 * BatchNormalization in inference mode: y = (x - mean) * scale / sqrt(var + eps) + bias, an affine
 * map per channel, so dX = dY * scale / sqrt(var + eps). The factor is folded from the constants.
 */
export const batchNormalization: VjpRule = (ctx) => {
  const [x, scale, , , variance] = ctx.node.inputs
  if (ctx.node.outputs.filter(Boolean).length > 1 || ctx.node.attrs.training_mode === 1) {
    throw new Error('BatchNormalization in training mode is not supported (export the model in eval mode)')
  }
  const s = ctx.constant(scale)
  const v = ctx.constant(variance)
  const rank = ctx.shape(x).length
  const eps = float(ctx, 'epsilon', 1e-5)
  const channels = ctx.shape(x)[1]
  const shape = [1, channels, ...new Array(rank - 2).fill(1)]
  let factor: string
  if (s && v) {
    const f = new Float32Array(channels)
    for (let c = 0; c < channels; c++) f[c] = Number(s.data[c]) / Math.sqrt(Number(v.data[c]) + eps)
    factor = ctx.b.constF32(f, shape)
  } else {
    const inv = ctx.b.op('Sqrt', [ctx.b.op('Add', [variance, ctx.b.constF32([eps], [])])])
    factor = ctx.b.op('Reshape', [ctx.b.op('Div', [scale, inv]), ctx.b.constI64(shape)])
  }
  if (ctx.needs.slice(1).some(Boolean)) throw new Error('gradients of BatchNormalization parameters are not supported')
  return [ctx.b.op('Mul', [ctx.dY[0]!, factor]), null, null, null, null]
}

/**
 * The input gradient of y = xhat * scale + bias with xhat = (x - mean) / sqrt(var + eps) over `axes`
 * (statistics from x itself, n elements per group), given g = dY * scale:
 *   dX = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps).
 * The statistics are recomputed from x with ReduceSum / n (axes as an input: opset 13 and later).
 */
function normalizedBackward(ctx: RuleContext, x: string, axes: number[], eps: number, g: string): { dX: string; xhat: string } {
  const b = ctx.b
  const xs = ctx.shape(x)
  const n = axes.reduce((p, a) => p * xs[a], 1)
  const axesT = b.constI64(axes)
  const mean = (t: string) => b.op('Div', [b.op('ReduceSum', [t, axesT], { keepdims: 1 }), b.constF32([n], [])])
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
