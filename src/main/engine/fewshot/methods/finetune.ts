import { zeroHead } from '../adapt/head-init'
import { all, body, head, unrolled, type MethodDef } from './base'

export const finetune = {
  id: 'finetune',
  summary: 'fine-tune baseline: supervised pretraining, then a fresh head trained on the support set',
  metaParams: all,
  // Training is plain supervised steps of the whole network with its own all-classes head (no inner
  // loop); testing (order 'none') trains a zero N-way head on the support set over the frozen body.
  graph: (spec) =>
    spec.order === 'none' ? unrolled({ meta: body, inner: head, headInit: 'zeros' })(spec) : unrolled({ meta: all, inner: () => [] })(spec),
  order: 'first',
  supervised: true,
  // The supervised batch is the training graph's query set.
  trainingImages: (b) => ({ images: b.query, count: b.queryLabels.length }),
  headPlan: (s) => ({ kind: 'steps', graph: 'finetune', init: zeroHead(s.classes.length, s.features.width) })
} satisfies MethodDef
