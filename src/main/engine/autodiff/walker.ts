import { ApiError } from '../../../shared/errors'
import type { GraphBuilder } from '../onnx/builder'
import { isFloatType } from '../onnx/elem-types'
import type { GraphIndex, IrNode } from '../onnx/ir'
import { NON_DIFFERENTIABLE } from './nondiff'
import { RULES } from './rules'
import type { RuleContext, VjpRule } from './types'

export interface BackwardRequest {
  index: GraphIndex
  builder: GraphBuilder
  shapes: Map<string, number[]>
  types: Map<string, number>
  /** Tensors to differentiate with respect to (a layer's activation; weights when training). */
  wrt: string[]
  /** Seed gradient tensor for each differentiated output (e.g. logits -> one-hot). */
  seeds: Map<string, string>
  /**
   * Rules used instead of the table's for this pass, by op type (Guided Backprop's and Deconvnet's
   * Relu): the modified backward passes of attribution methods, without a second rule table.
   */
  overrides?: Readonly<Record<string, VjpRule>>
}

/**
 * Builds the backward graph (reverse-mode, one VJP rule per op). Only nodes that lie on a path from
 * a `wrt` tensor to a seeded output take part; gradients of tensors that fan out are summed.
 * Returns the gradient tensor name for each `wrt` tensor.
 */
export function buildBackward(req: BackwardRequest): Map<string, string> {
  const { index, builder, shapes, types } = req
  const isFloat = (t: string) => isFloatType(types.get(t))

  // Forward: tensors that depend on a wrt tensor through differentiable float paths.
  const depends = new Set(req.wrt)
  for (const n of index.nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue
    if (n.inputs.some((i) => depends.has(i))) for (const o of n.outputs) if (o && isFloat(o)) depends.add(o)
  }
  // Backward: tensors that influence a seeded output.
  const influences = new Set(req.seeds.keys())
  for (let k = index.nodes.length - 1; k >= 0; k--) {
    const n = index.nodes[k]
    if (NON_DIFFERENTIABLE.has(n.opType)) continue
    if (n.outputs.some((o) => influences.has(o))) for (const i of n.inputs) if (i) influences.add(i)
  }
  const onPath = (t: string) => depends.has(t) && influences.has(t)
  for (const w of req.wrt) {
    if (!onPath(w)) {
      const seeds = [...req.seeds.keys()].join(', ')
      throw new ApiError('unsupported', `Tensor ${w} does not influence ${seeds} through differentiable operations, so it has no gradient.`)
    }
  }

  const contributions = new Map<string, string[]>()
  for (const [t, g] of req.seeds) contributions.set(t, [g])
  const gradOf = (t: string): string | null => {
    const list = contributions.get(t)
    if (!list || list.length === 0) return null
    if (list.length === 1) return list[0]
    const sum = builder.op('Sum', list)
    contributions.set(t, [sum])
    return sum
  }

  const active: IrNode[] = index.nodes.filter(
    (n) => !NON_DIFFERENTIABLE.has(n.opType) && n.outputs.some(onPath) && n.inputs.some(onPath)
  )
  for (let k = active.length - 1; k >= 0; k--) {
    const node = active[k]
    const dY = node.outputs.map((o) => (o && onPath(o) ? gradOf(o) : null))
    if (dY.every((g) => g === null)) continue
    const rule = req.overrides?.[node.opType] ?? RULES[node.opType]
    if (!rule) {
      throw new ApiError(
        'unsupported',
        `No gradient rule for op ${node.opType} (node ${node.name}), which lies between ${req.wrt.join(', ')} and the output. ` +
          `Choose a layer closer to the output, or report the op.`,
        undefined,
        { constraint: 'no-gradient', op: node.opType, node: node.name }
      )
    }
    const ctx: RuleContext = {
      node,
      dY,
      needs: node.inputs.map((i) => !!i && onPath(i) && isFloat(i)),
      b: builder,
      index,
      shape: (name) => {
        const s = shapes.get(name)
        if (!s) throw new ApiError('internal', `No static shape known for tensor ${name} (node ${node.name}).`)
        return s
      },
      constant: (name) => index.constant(name)
    }
    let grads: (string | null)[]
    try {
      grads = rule(ctx)
    } catch (err) {
      if (err instanceof ApiError) throw err
      throw new ApiError('unsupported', `Gradient of ${node.opType} (node ${node.name}): ${(err as Error).message}`, undefined, {
        constraint: 'gradient-failed',
        reason: (err as Error).message,
        op: node.opType,
        node: node.name
      })
    }
    node.inputs.forEach((input, i) => {
      const g = grads[i]
      if (!g || !ctx.needs[i]) return
      const list = contributions.get(input) ?? []
      list.push(g)
      contributions.set(input, list)
    })
  }

  const result = new Map<string, string>()
  for (const w of req.wrt) {
    const g = gradOf(w)
    if (!g) throw new ApiError('internal', `No gradient reached ${w}.`)
    result.set(w, g)
  }
  return result
}
