import type { FewshotMethodId } from '../../../../shared/registry/fewshot-methods'
import type { LoadedModel } from '../../model/loaded-model'
import type { FeatureTensor } from '../adapt/features'
import type { ClassifierHead } from '../adapt/head'
import type { HeadWeights } from '../adapt/head-net'

/** What a head-only method adapts an imported model's head from: the support embeddings and the original head. */
export interface HeadAdaptSpec {
  model: LoadedModel
  head: ClassifierHead
  /** The tensor the support features come from: the new head is [N, features.width]. */
  features: FeatureTensor
  classes: string[]
  steps: number
  /** Support features [F] each, with their class numbers. */
  support: Float32Array[]
  supportLabels: Int32Array
}

/**
 * How a method adapts the head: `exact`, a closed-form head with nothing to run; or `steps`, the
 * inner steps of a method's test-time graph over the features head net, starting from `init` (which
 * a graph that computes its own starting head in-graph ignores).
 */
export type HeadPlan = { kind: 'exact'; head: HeadWeights } | { kind: 'steps'; graph: FewshotMethodId; init: HeadWeights }

/** A head-only method's part in adapting an imported model. */
export type HeadPlanner = (spec: HeadAdaptSpec) => HeadPlan

/**
 * Inner steps from given head weights, taken by ANIL's graph (which starts from the head it is
 * given). With no steps the weights are the head: the unrolled graph would not even declare the
 * support set, so there is nothing to run.
 */
export function stepsFrom(init: HeadWeights, steps: number): HeadPlan {
  return steps === 0 ? { kind: 'exact', head: init } : { kind: 'steps', graph: 'anil', init }
}
