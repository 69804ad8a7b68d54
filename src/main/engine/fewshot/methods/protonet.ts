import { prototypeHead } from '../adapt/head-init'
import { body, type MethodDef } from './base'
import { buildProtoNet } from '../protonet'

export const protonet = {
  id: 'protonet',
  summary: 'Prototypical Networks: nearest class mean in the embedding, no inner steps',
  metaParams: body,
  graph: (spec) => buildProtoNet({ ...spec, metaParams: body(spec.net) }),
  order: 'first',
  // No steps: the prototype head W_n = 2 c_n, b_n = -|c_n|^2 is the exact linear form (it differs
  // from -|q - c_n|^2 by -|q|^2, the same for every class, so the probabilities are the same).
  headPlan: (s) => ({ kind: 'exact', head: prototypeHead(s.support, s.supportLabels, s.classes.length, s.features.width) })
} satisfies MethodDef
