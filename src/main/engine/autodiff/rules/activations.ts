import type { RuleContext, VjpRule } from '../types'
import { float, str, unbroadcast } from './helpers'

const one = (ctx: RuleContext) => ctx.b.constF32([1], [])
const zero = (ctx: RuleContext) => ctx.b.constF32([0], [])

/** Relu: pass the gradient where the input was positive (a Where mask, no multiply). */
export const relu: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  return [ctx.b.op('Where', [ctx.b.op('Greater', [x, zero(ctx)]), ctx.dY[0]!, zero(ctx)])]
}

export const leakyRelu: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const alpha = float(ctx, 'alpha', 0.01)
  const scaled = ctx.b.op('Mul', [ctx.dY[0]!, ctx.b.constF32([alpha], [])])
  return [ctx.b.op('Where', [ctx.b.op('Greater', [x, zero(ctx)]), ctx.dY[0]!, scaled])]
}

/** Clip (ReLU6 as exported): gradient flows strictly inside (min, max), as PyTorch's hardtanh does. */
export const clip: VjpRule = (ctx) => {
  const [x, min, max] = ctx.node.inputs
  let mask: string | null = null
  const and = (m: string) => (mask = mask ? ctx.b.op('And', [mask, m]) : m)
  // Opset >= 11 takes min/max as inputs; older opsets as attributes.
  const lo = min ? min : 'min' in ctx.node.attrs ? ctx.b.constF32([float(ctx, 'min', 0)], []) : null
  const hi = max ? max : 'max' in ctx.node.attrs ? ctx.b.constF32([float(ctx, 'max', 0)], []) : null
  if (lo) and(ctx.b.op('Greater', [x, lo]))
  if (hi) and(ctx.b.op('Less', [x, hi]))
  if (!mask) return [ctx.dY[0]!, null, null]
  return [ctx.b.op('Where', [mask, ctx.dY[0]!, zero(ctx)]), null, null]
}

/** Sigmoid: dX = dY * y * (1 - y), from the forward output. */
export const sigmoid: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]
  const dSig = ctx.b.op('Mul', [y, ctx.b.op('Sub', [one(ctx), y])])
  return [ctx.b.op('Mul', [ctx.dY[0]!, dSig])]
}

export const tanh: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]
  return [ctx.b.op('Mul', [ctx.dY[0]!, ctx.b.op('Sub', [one(ctx), ctx.b.op('Mul', [y, y])])])]
}

/** HardSigmoid: y = max(0, min(1, alpha*x + beta)); slope alpha strictly inside the linear zone. */
export const hardSigmoid: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const alpha = float(ctx, 'alpha', 0.2)
  const beta = float(ctx, 'beta', 0.5)
  const z = ctx.b.op('Add', [ctx.b.op('Mul', [x, ctx.b.constF32([alpha], [])]), ctx.b.constF32([beta], [])])
  const inside = ctx.b.op('And', [ctx.b.op('Greater', [z, zero(ctx)]), ctx.b.op('Less', [z, one(ctx)])])
  const scaled = ctx.b.op('Mul', [ctx.dY[0]!, ctx.b.constF32([alpha], [])])
  return [ctx.b.op('Where', [inside, scaled, zero(ctx)])]
}

/** HardSwish: y = x * hardsigmoid(x) with alpha 1/6, beta 0.5: dy/dx = 0 (x<-3), x/3 + 0.5 (|x|<=3), 1 (x>3). */
export const hardSwish: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const lin = ctx.b.op('Add', [ctx.b.op('Mul', [x, ctx.b.constF32([1 / 3], [])]), ctx.b.constF32([0.5], [])])
  const slope = ctx.b.op('Where', [
    ctx.b.op('Less', [x, ctx.b.constF32([-3], [])]),
    zero(ctx),
    ctx.b.op('Where', [ctx.b.op('Greater', [x, ctx.b.constF32([3], [])]), one(ctx), lin])
  ])
  return [ctx.b.op('Mul', [ctx.dY[0]!, slope])]
}

/** The one axis Softmax/LogSoftmax normalise over (opset >= 13; older opsets flatten, refused). */
function softmaxAxis(ctx: RuleContext, y: string): number {
  if (ctx.index.opset < 13) throw new Error(`${ctx.node.opType} before opset 13 (flattened axes) is not supported; re-export with opset >= 13`)
  const rank = ctx.shape(y).length
  const a = typeof ctx.node.attrs.axis === 'number' ? (ctx.node.attrs.axis as number) : -1
  return a < 0 ? a + rank : a
}

/** Softmax along one axis (opset >= 13 semantics): dX = y * (dY - sum(dY * y, axis)). */
export const softmax: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]
  const ax = softmaxAxis(ctx, y)
  const dot = ctx.b.op('ReduceSum', [ctx.b.op('Mul', [ctx.dY[0]!, y]), ctx.b.constI64([ax])], { keepdims: 1 })
  return [ctx.b.op('Mul', [y, ctx.b.op('Sub', [ctx.dY[0]!, dot])])]
}

/** LogSoftmax: dX = dY - softmax(x) * sum(dY, axis). */
export const logSoftmax: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]
  const ax = softmaxAxis(ctx, y)
  const total = ctx.b.op('ReduceSum', [ctx.dY[0]!, ctx.b.constI64([ax])], { keepdims: 1 })
  return [ctx.b.op('Sub', [ctx.dY[0]!, ctx.b.op('Mul', [ctx.b.op('Exp', [y]), total])])]
}

/** Exp: dX = dY * y. */
export const exp: VjpRule = (ctx) => [ctx.b.op('Mul', [ctx.dY[0]!, ctx.node.outputs[0]])]

/** PRelu: y = x (x > 0) or slope * x; dX = dY or dY * slope, dSlope = sum of dY * x where x <= 0. */
export const pRelu: VjpRule = (ctx) => {
  const [x, slope] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  const dY = ctx.dY[0]!
  const positive = ctx.b.op('Greater', [x, zero(ctx)])
  return [
    ctx.needs[0] ? ctx.b.op('Where', [positive, dY, ctx.b.op('Mul', [dY, slope])]) : null,
    ctx.needs[1] ? unbroadcast(ctx, ctx.b.op('Where', [positive, zero(ctx), ctx.b.op('Mul', [dY, x])]), slope, y) : null
  ]
}

/** Softplus: y = log(1 + exp(x)), dy/dx = sigmoid(x) (Mish = x * tanh(softplus(x)) builds on it). */
export const softplus: VjpRule = (ctx) => [ctx.b.op('Mul', [ctx.dY[0]!, ctx.b.op('Sigmoid', [ctx.node.inputs[0]])])]

/** Erf (torch's exact GELU below opset 20 is x * 0.5 * (1 + erf(x / sqrt 2))): d erf/dx = 2/sqrt(pi) * exp(-x^2). */
export const erf: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const gauss = ctx.b.op('Exp', [ctx.b.op('Neg', [ctx.b.op('Mul', [x, x])])])
  return [ctx.b.op('Mul', [ctx.dY[0]!, ctx.b.op('Mul', [gauss, ctx.b.constF32([2 / Math.sqrt(Math.PI)], [])])])]
}

/**
 * Gelu (opset 20). approximate='none': y = x * Phi(x), dy/dx = Phi(x) + x * phi(x) with
 * Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
 * approximate='tanh': y = x/2 * (1 + t), t = tanh(c (x + k x^3)), c = sqrt(2/pi), k = 0.044715;
 * dy/dx = (1 + t)/2 + x/2 * (1 - t^2) * c * (1 + 3k x^2).
 */
export const gelu: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const b = ctx.b
  const c = (v: number) => b.constF32([v], [])
  const mul = (...t: string[]) => t.reduce((p, q) => b.op('Mul', [p, q]))
  const x2 = mul(x, x)
  let slope: string
  if (str(ctx, 'approximate', 'none') === 'tanh') {
    const k = 0.044715
    const sc = Math.sqrt(2 / Math.PI)
    const t = b.op('Tanh', [mul(c(sc), b.op('Add', [x, mul(c(k), x2, x)]))])
    const left = mul(c(0.5), b.op('Add', [one(ctx), t]))
    const dt = mul(c(0.5 * sc), x, b.op('Sub', [one(ctx), mul(t, t)]), b.op('Add', [one(ctx), mul(c(3 * k), x2)]))
    slope = b.op('Add', [left, dt])
  } else {
    const cdf = mul(c(0.5), b.op('Add', [one(ctx), b.op('Erf', [mul(x, c(Math.SQRT1_2))])]))
    const pdf = mul(c(1 / Math.sqrt(2 * Math.PI)), b.op('Exp', [mul(x2, c(-0.5))]))
    slope = b.op('Add', [cdf, mul(x, pdf)])
  }
  return [b.op('Mul', [ctx.dY[0]!, slope])]
}
