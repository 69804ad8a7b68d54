import type { FewshotMethod } from '../../../shared/fewshot'
import type { EpisodeGraph, EpisodeGraphSpec } from './episode-graph'
import type { Net } from './net'
import { buildProtoNet } from './protonet'
import { buildUnrolled, type GradientOrder } from './unroll'

/**
 * The few-shot methods as small variations over one unrolled-inner-loop graph (docs/fewshot.md):
 * which parameters are meta-learned, which the inner loop updates, where the head starts, whether
 * the rates are learned, and the order of the meta-gradient. The CLI help and UI labels read this table.
 */
export interface MethodDef {
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
}

export interface MethodGraphSpec extends Omit<EpisodeGraphSpec, 'metaParams'> {
  steps: number
  alpha: number
}

const body = (net: Net) => net.params.filter((p) => !net.headParams.includes(p))
const all = (net: Net) => net.params
const head = (net: Net) => [...net.headParams]

function unrolled(o: { meta: (n: Net) => string[]; inner: (n: Net) => string[]; headInit?: 'params' | 'proto' | 'zeros'; learnedRates?: boolean }) {
  return (spec: MethodGraphSpec) =>
    buildUnrolled({ ...spec, metaParams: o.meta(spec.net), inner: o.inner(spec.net), headInit: o.headInit ?? 'params', learnedRates: o.learnedRates })
}

export const METHODS: Readonly<Record<FewshotMethod, MethodDef>> = {
  protomaml: {
    summary: 'Proto-MAML: the head starts at the support prototypes, then inner steps on the head (recommended for pretrained models)',
    metaParams: body,
    graph: unrolled({ meta: body, inner: head, headInit: 'proto' }),
    order: 'second'
  },
  anil: {
    summary: 'ANIL: inner steps on the head only, meta-gradient through them to the whole network',
    metaParams: all,
    graph: unrolled({ meta: all, inner: head }),
    order: 'second'
  },
  maml: {
    summary: 'MAML: inner steps on every parameter, exact second-order meta-gradient',
    metaParams: all,
    graph: unrolled({ meta: all, inner: all }),
    order: 'second'
  },
  fomaml: {
    summary: 'first-order MAML: inner steps on every parameter, the query gradient at the adapted weights',
    metaParams: all,
    graph: unrolled({ meta: all, inner: all }),
    order: 'first'
  },
  metasgd: {
    summary: 'Meta-SGD: MAML with a learned inner rate for every weight',
    metaParams: all,
    graph: unrolled({ meta: all, inner: all, learnedRates: true }),
    learnedRates: true,
    order: 'second'
  },
  protonet: {
    summary: 'Prototypical Networks: nearest class mean in the embedding, no inner steps',
    metaParams: body,
    graph: (spec) => buildProtoNet({ ...spec, metaParams: body(spec.net) }),
    order: 'first'
  },
  finetune: {
    summary: 'fine-tune baseline: supervised pretraining, then a fresh head trained on the support set',
    metaParams: all,
    // Training is plain supervised steps of the whole network with its own all-classes head (no inner
    // loop); testing (order 'none') trains a zero N-way head on the support set over the frozen body.
    graph: (spec) =>
      spec.order === 'none' ? unrolled({ meta: body, inner: head, headInit: 'zeros' })(spec) : unrolled({ meta: all, inner: () => [] })(spec),
    order: 'first',
    supervised: true
  }
}
