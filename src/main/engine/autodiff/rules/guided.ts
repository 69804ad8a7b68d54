import type { RuleContext, VjpRule } from '../types'

/**
 * The modified Relu backward passes of two attribution methods, used through BackwardRequest's
 * `overrides` (the table keeps the true rule). Only ONNX `Relu` is overridden, as Captum hooks only
 * nn.ReLU modules: Clip (ReLU6), LeakyRelu, PRelu and the rest keep their true gradient.
 */
const zero = (ctx: RuleContext) => ctx.b.constF32([0], [])

/**
 * Guided Backprop (Springenberg et al. 2015): dX = dY * (X > 0) * (dY > 0): the true Relu gradient
 * with the negative gradients cut as well (Captum's GuidedBackprop: relu of the Relu's grad_input).
 */
export const guidedRelu: VjpRule = (ctx) => {
  const x = ctx.node.inputs[0]
  const dY = ctx.dY[0]!
  const pass = ctx.b.op('And', [ctx.b.op('Greater', [x, zero(ctx)]), ctx.b.op('Greater', [dY, zero(ctx)])])
  return [ctx.b.op('Where', [pass, dY, zero(ctx)])]
}

/**
 * Deconvnet (Zeiler & Fergus 2014): dX = relu(dY): the gradient is rectified on its own, whatever the
 * forward input was (Captum's Deconvolution: relu of the Relu's grad_output).
 */
export const deconvRelu: VjpRule = (ctx) => [ctx.b.op('Relu', [ctx.dY[0]!])]

/** The overrides each method's backward pass uses. */
export const GUIDED_BACKPROP_RULES: Readonly<Record<string, VjpRule>> = { Relu: guidedRelu }
export const DECONVNET_RULES: Readonly<Record<string, VjpRule>> = { Relu: deconvRelu }
