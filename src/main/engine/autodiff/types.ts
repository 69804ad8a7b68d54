import type { GraphBuilder } from '../onnx/builder'
import type { GraphIndex, IrNode } from '../onnx/ir'
import type { ConstTensor } from '../onnx/tensor-data'

/** What one VJP rule sees: the forward node, the gradients of its outputs, and a builder to emit into. */
export interface RuleContext {
  node: IrNode
  /** Gradient tensor of each output; null when nothing downstream needs it. */
  dY: (string | null)[]
  /** Which inputs need a gradient (they depend on a differentiated tensor and are floating point). */
  needs: boolean[]
  b: GraphBuilder
  index: GraphIndex
  /** Static shape of a tensor from the probe run (a dynamic batch axis probed at 2). */
  shape(name: string): number[]
  /** The value of a constant input (initializer or Constant node), or null. */
  constant(name: string): ConstTensor | null
}

/**
 * A vector-Jacobian product rule: emits nodes computing the gradient of each needed input from the
 * output gradients; returns one name (or null: no gradient) per input.
 */
export type VjpRule = (ctx: RuleContext) => (string | null)[]
