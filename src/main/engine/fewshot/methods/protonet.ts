import { body, type MethodDef } from './base'
import { buildProtoNet } from '../protonet'

export const protonet: MethodDef = {
  id: 'protonet',
  summary: 'Prototypical Networks: nearest class mean in the embedding, no inner steps',
  metaParams: body,
  graph: (spec) => buildProtoNet({ ...spec, metaParams: body(spec.net) }),
  order: 'first'
}
