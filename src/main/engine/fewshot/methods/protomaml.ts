import { temperedPrototypeHead } from '../adapt/head-init'
import { body, head, unrolled, type MethodDef } from './base'
import { stepsFrom } from './head-plan'

export const protomaml = {
  id: 'protomaml',
  summary: 'Proto-MAML: the head starts at the support prototypes, then inner steps on the head (recommended for pretrained models)',
  metaParams: body,
  graph: unrolled({ meta: body, inner: head, headInit: 'proto' }),
  order: 'second',
  // Adapting a pretrained model: the head starts at the support prototypes divided by a temperature
  // (temperedPrototypeHead: the plain prototype head is saturated on long pretrained features) and ANIL's
  // graph takes the inner steps from it. Meta-training keeps the in-graph prototype start above.
  headPlan: (s) => stepsFrom(temperedPrototypeHead(s.support, s.supportLabels, s.classes.length, s.features.width), s.steps)
} satisfies MethodDef
