import { all, unrolled, type MethodDef } from './base'

export const metasgd = {
  id: 'metasgd',
  summary: 'Meta-SGD: MAML with a learned inner rate for every weight',
  metaParams: all,
  graph: unrolled({ meta: all, inner: all, learnedRates: true }),
  learnedRates: true,
  order: 'second'
} satisfies MethodDef
