import type { RuleContext, VjpRule } from '../types'
import { unbroadcast } from './helpers'

/** Add/Sub: the gradient passes to each side, summed over broadcast axes (Sub negates the right). */
export const add: VjpRule = (ctx) => {
  const [a, b] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  const dY = ctx.dY[0]!
  return [ctx.needs[0] ? unbroadcast(ctx, dY, a, y) : null, ctx.needs[1] ? unbroadcast(ctx, dY, b, y) : null]
}

export const sub: VjpRule = (ctx) => {
  const [a, b] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  const dY = ctx.dY[0]!
  return [ctx.needs[0] ? unbroadcast(ctx, dY, a, y) : null, ctx.needs[1] ? unbroadcast(ctx, ctx.b.op('Neg', [dY]), b, y) : null]
}

/** Mul: dA = dY * B, dB = dY * A (Squeeze-Excitation and SiLU gates are Muls). */
export const mul: VjpRule = (ctx) => {
  const [a, b] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  const dY = ctx.dY[0]!
  return [
    ctx.needs[0] ? unbroadcast(ctx, ctx.b.op('Mul', [dY, b]), a, y) : null,
    ctx.needs[1] ? unbroadcast(ctx, ctx.b.op('Mul', [dY, a]), b, y) : null
  ]
}

/** Div: dA = dY / B, dB = -dY * A / B^2 = -dY * Y / B. */
export const div: VjpRule = (ctx) => {
  const [a, b] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  const dY = ctx.dY[0]!
  return [
    ctx.needs[0] ? unbroadcast(ctx, ctx.b.op('Div', [dY, b]), a, y) : null,
    ctx.needs[1] ? unbroadcast(ctx, ctx.b.op('Neg', [ctx.b.op('Div', [ctx.b.op('Mul', [dY, y]), b])]), b, y) : null
  ]
}

export const neg: VjpRule = (ctx) => [ctx.b.op('Neg', [ctx.dY[0]!])]

/** Sum (variadic add). */
export const sum: VjpRule = (ctx) => ctx.node.inputs.map((x, i) => (ctx.needs[i] ? unbroadcast(ctx, ctx.dY[0]!, x, ctx.node.outputs[0]) : null))

/** Pow with a constant exponent p: dX = dY * p * x^(p-1). */
export const pow: VjpRule = (ctx) => {
  const [x, e] = ctx.node.inputs
  if (ctx.needs[1]) throw new Error('gradient with respect to the exponent of Pow is not supported')
  const p = ctx.constant(e)
  if (!p || p.data.length !== 1) throw new Error('Pow needs a scalar constant exponent')
  const pv = Number(p.data[0])
  const dPow = ctx.b.op('Mul', [ctx.b.op('Pow', [x, ctx.b.constF32([pv - 1], [])]), ctx.b.constF32([pv], [])])
  return [ctx.b.op('Mul', [ctx.dY[0]!, dPow]), null]
}

/** Reciprocal (normalisation rules emit it for 1/std): dX = -dY * y^2. */
export const reciprocal: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]
  return [ctx.b.op('Neg', [ctx.b.op('Mul', [ctx.dY[0]!, ctx.b.op('Mul', [y, y])])])]
}

/**
 * Where (Relu's and Clip's gradients are Wheres): the gradient goes to X where the condition holds and
 * to Y elsewhere, unbroadcast to each side; the boolean condition gets none.
 */
export const where: VjpRule = (ctx) => {
  const [cond, a, b] = ctx.node.inputs
  const y = ctx.node.outputs[0]
  const dY = ctx.dY[0]!
  const zero = ctx.b.constF32([0], [])
  return [
    null,
    ctx.needs[1] ? unbroadcast(ctx, ctx.b.op('Where', [cond, dY, zero]), a, y) : null,
    ctx.needs[2] ? unbroadcast(ctx, ctx.b.op('Where', [cond, zero, dY]), b, y) : null
  ]
}

export const sqrt: VjpRule = (ctx) => {
  const y = ctx.node.outputs[0]
  return [ctx.b.op('Div', [ctx.dY[0]!, ctx.b.op('Mul', [y, ctx.b.constF32([2], [])])])]
}

/**
 * Max / Min (variadic, broadcasting): the gradient goes to the input(s) equal to the output. Exact
 * ties split it evenly (mask / number of winners), so the pieces still add up to dY.
 */
function extremum(ctx: RuleContext): (string | null)[] {
  const y = ctx.node.outputs[0]
  const b = ctx.b
  const masks = ctx.node.inputs.map((x) => b.op('Cast', [b.op('Equal', [x, y])], { to: 1 }))
  const share = b.op('Div', [ctx.dY[0]!, masks.length > 1 ? b.op('Sum', masks) : masks[0]])
  return ctx.node.inputs.map((x, i) => (ctx.needs[i] ? unbroadcast(ctx, b.op('Mul', [share, masks[i]]), x, y) : null))
}

export const max: VjpRule = extremum
export const min: VjpRule = extremum
