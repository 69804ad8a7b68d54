import { all, unrolled, type MethodDef } from './base'

export const maml = {
  id: 'maml',
  summary: 'MAML: inner steps on every parameter, exact second-order meta-gradient',
  metaParams: all,
  graph: unrolled({ meta: all, inner: all }),
  order: 'second'
} satisfies MethodDef
