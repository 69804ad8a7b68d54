import type { Net } from './net'
import type { GradientOrder } from './unroll'

/** What every few-shot method compiles an episode into: one graph, one onnxruntime run per episode. */
export interface EpisodeGraphSpec {
  net: Net
  metaParams: string[]
  order: GradientOrder
  ways: number
  supportBatch: number
  queryBatch: number
  /** Training: embed support and query as one batch, so BatchNorm normalises them together (ProtoNet, running convention). */
  jointBatch?: boolean
}

export interface EpisodeGraph {
  bytes: Uint8Array
  /** Graph inputs besides the four episode tensors, in this order: parameters, then rates. */
  metaParams: string[]
  rateInputs: string[]
  queryLoss: string
  queryLogits: string
  supportLosses: string[]
  /** Gradient outputs, one per meta-parameter then per rate (empty when order is 'none'). */
  grads: string[]
  rateGrads: string[]
  /** The inner-loop parameters after the last inner step, by parameter name (the adapted head or network). */
  adapted: Map<string, string>
}
