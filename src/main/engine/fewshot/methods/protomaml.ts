import { body, head, unrolled, type MethodDef } from './base'

export const protomaml: MethodDef = {
  id: 'protomaml',
  summary: 'Proto-MAML: the head starts at the support prototypes, then inner steps on the head (recommended for pretrained models)',
  metaParams: body,
  graph: unrolled({ meta: body, inner: head, headInit: 'proto' }),
  order: 'second'
}
