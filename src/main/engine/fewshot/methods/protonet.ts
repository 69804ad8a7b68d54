import { prototypeHead } from '../adapt/head-init'
import { body, type MethodDef } from './base'
import { buildProtoNet } from '../protonet'

export const protonet = {
  id: 'protonet',
  summary: 'Prototypical Networks: nearest class mean in the embedding, no inner steps',
  metaParams: body,
  graph: (spec) => buildProtoNet({ ...spec, metaParams: body(spec.net) }),
  order: 'first',
  // Snell et al.'s code embeds support and query as one batch; so does the training graph under the
  // running convention (spec.jointBatch), and the statistics come from that same batch.
  trainingImages: (b) => ({ images: concat(b.support, b.query), count: b.supportLabels.length + b.queryLabels.length }),
  // No steps: the prototype head W_n = 2 c_n, b_n = -|c_n|^2 is the exact linear form (it differs
  // from -|q - c_n|^2 by -|q|^2, the same for every class, so the probabilities are the same).
  headPlan: (s) => ({ kind: 'exact', head: prototypeHead(s.support, s.supportLabels, s.classes.length, s.features.width) })
} satisfies MethodDef

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
