import type { EpisodeBatch } from '../data/batch'
import type { EpisodeGraph, EpisodeGraphSpec } from '../episode-graph'
import type { Net } from '../net'
import type { FewshotMethodId } from '../../../../shared/registry/fewshot-methods'
import { buildUnrolled, type GradientOrder } from '../unroll'
import type { HeadPlanner } from './head-plan'

/**
 * The few-shot methods as small variations over one unrolled-inner-loop graph (docs/fewshot.md):
 * which parameters are meta-learned, which the inner loop updates, where the head starts, whether
 * the rates are learned, and the order of the meta-gradient. One module per method (./<id>.ts), registered in
 * ./index.ts against the ids of src/shared/registry/fewshot-methods.ts.
 */
export interface MethodDef {
  id: FewshotMethodId
  summary: string
  /** Parameters the outer loop learns. */
  metaParams(net: Net): string[]
  /** Builds the episode graph: training (order from the method) or testing (order 'none'). */
  graph(spec: MethodGraphSpec): Promise<EpisodeGraph>
  /** Meta-SGD learns per-element inner rates alongside the parameters. */
  learnedRates?: boolean
  /** The method's meta-gradient order while training. */
  order: GradientOrder
  /** Meta-training is plain supervised training over all meta-training classes (fine-tune). */
  supervised?: boolean
  /**
   * The images one training forward pass normalises together: what the 'running' BatchNorm convention
   * (running-stats.ts) takes its statistics from. Methods without it (the inner-loop ones, whose
   * every inner step is another forward pass) train and test with batch statistics only.
   */
  trainingImages?: (b: EpisodeBatch) => { images: Float32Array; count: number }
  /** How the method adapts an imported model's head on its embeddings (the catalogue's `adaptsImported` methods; ./index.ts requires it of them). */
  headPlan?: HeadPlanner
}

export interface MethodGraphSpec extends Omit<EpisodeGraphSpec, 'metaParams'> {
  steps: number
  alpha: number
}

export const body = (net: Net) => net.params.filter((p) => !net.headParams.includes(p))
export const all = (net: Net) => net.params
export const head = (net: Net) => [...net.headParams]

export function unrolled(o: { meta: (n: Net) => string[]; inner: (n: Net) => string[]; headInit?: 'params' | 'proto' | 'zeros'; learnedRates?: boolean }) {
  return (spec: MethodGraphSpec) =>
    buildUnrolled({ ...spec, metaParams: o.meta(spec.net), inner: o.inner(spec.net), headInit: o.headInit ?? 'params', learnedRates: o.learnedRates })
}

