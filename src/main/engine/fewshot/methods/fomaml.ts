import { all, unrolled, type MethodDef } from './base'

export const fomaml = {
  id: 'fomaml',
  summary: 'first-order MAML: inner steps on every parameter, the query gradient at the adapted weights',
  metaParams: all,
  graph: unrolled({ meta: all, inner: all }),
  order: 'first'
} satisfies MethodDef
