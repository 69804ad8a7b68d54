import { all, head, unrolled, type MethodDef } from './base'

export const anil: MethodDef = {
  id: 'anil',
  summary: 'ANIL: inner steps on the head only, meta-gradient through them to the whole network',
  metaParams: all,
  graph: unrolled({ meta: all, inner: head }),
  order: 'second'
}
