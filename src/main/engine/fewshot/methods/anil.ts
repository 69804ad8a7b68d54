import { labelRowsHead } from '../adapt/head-init'
import { all, head, unrolled, type MethodDef } from './base'
import { stepsFrom } from './head-plan'

export const anil = {
  id: 'anil',
  summary: 'ANIL: inner steps on the head only, meta-gradient through them to the whole network',
  metaParams: all,
  graph: unrolled({ meta: all, inner: head }),
  order: 'second',
  // The head starts from the original head's rows where a class is one of the model's labels.
  headPlan: (s) => stepsFrom(labelRowsHead(s.model, s.head, s.features, s.classes), s.steps)
} satisfies MethodDef
