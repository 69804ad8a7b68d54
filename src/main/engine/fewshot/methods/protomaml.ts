import { classCounts, prototypeHead, zeroHead } from '../adapt/head-init'
import { body, head, unrolled, type MethodDef } from './base'
import { stepsFrom } from './head-plan'

export const protomaml = {
  id: 'protomaml',
  summary: 'Proto-MAML: the head starts at the support prototypes, then inner steps on the head (recommended for pretrained models)',
  metaParams: body,
  graph: unrolled({ meta: body, inner: head, headInit: 'proto' }),
  order: 'second',
  // The graph computes its prototype head in-graph from equal shots per class; with unequal shots the
  // prototypes (true per-class means) are computed here and ANIL's graph takes the same steps from them.
  headPlan: (s) => {
    const ways = s.classes.length
    const counts = classCounts(s.supportLabels, ways)
    if (counts.every((c) => c === counts[0])) return { kind: 'steps', graph: 'protomaml', init: zeroHead(ways, s.features.width) }
    return stepsFrom(prototypeHead(s.support, s.supportLabels, ways, s.features.width), s.steps)
  }
} satisfies MethodDef
