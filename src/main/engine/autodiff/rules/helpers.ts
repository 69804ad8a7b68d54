import type { RuleContext } from '../types'

/** Integer attribute list with a default, as ONNX ops define them. */
export function ints(ctx: RuleContext, name: string, fallback: number[]): number[] {
  const v = ctx.node.attrs[name]
  return Array.isArray(v) ? (v as number[]) : fallback
}

export function int(ctx: RuleContext, name: string, fallback: number): number {
  const v = ctx.node.attrs[name]
  return typeof v === 'number' ? v : fallback
}

export function float(ctx: RuleContext, name: string, fallback: number): number {
  const v = ctx.node.attrs[name]
  return typeof v === 'number' ? v : fallback
}

export function str(ctx: RuleContext, name: string, fallback: string): string {
  const v = ctx.node.attrs[name]
  return typeof v === 'string' ? v : fallback
}

/** Reshape `grad` to the runtime shape of `like` (dynamic, so any batch size works). */
export function reshapeLike(ctx: RuleContext, grad: string, like: string): string {
  return ctx.b.op('Reshape', [grad, ctx.b.op('Shape', [like])])
}

/**
 * Undo numpy broadcasting: sum `grad` (shaped like `output`) over the axes along which `input` was
 * broadcast, then reshape to the input's runtime shape.
 */
export function unbroadcast(ctx: RuleContext, grad: string, input: string, output: string): string {
  const inShape = ctx.shape(input)
  const outShape = ctx.shape(output)
  const lead = outShape.length - inShape.length
  const axes: number[] = []
  for (let i = 0; i < outShape.length; i++) {
    const d = i < lead ? 1 : inShape[i - lead]
    if (i < lead || (d === 1 && outShape[i] !== 1)) axes.push(i)
  }
  if (axes.length === 0 && lead === 0) return grad
  const summed = axes.length ? ctx.b.op('ReduceSum', [grad, ctx.b.constI64(axes)], { keepdims: 1 }) : grad
  return reshapeLike(ctx, summed, input)
}

/** Normalises a possibly negative axis against a rank. */
export function axis(a: number, rank: number): number {
  return a < 0 ? a + rank : a
}

/**
 * Zeros shaped like a tensor at run time (float32, ConstantOfShape's default). Not Mul(like, 0): that
 * would run a dead gradient path through `like` when the backward graph is differentiated again.
 */
export function zerosLike(ctx: RuleContext, like: string): string {
  return ctx.b.op('ConstantOfShape', [ctx.b.op('Shape', [like])])
}
