import { ApiError } from '../../src/shared/errors'
import { blockOf, type ParamInfo } from '../../src/main/engine/fewshot/adapt/deep/blocks'

/**
 * Choosing trainable weights by other rules than "the last k blocks" (product code: deep/blocks.ts):
 * every one, the head, or names / module scopes. The weights, blocks and training graphs themselves
 * live in src/main/engine/fewshot/adapt/deep/ (blocks.ts, tail.ts).
 */

/** Which weights train: every one, the classifier head, the last k blocks, or names / module scopes. */
export type TrainableSpec = 'all' | 'head' | { lastBlocks: number } | { names: string[] }

/** Resolves a TrainableSpec to weight names; `head` is the classifier's [weight, bias]. */
export function selectTrainable(params: ParamInfo[], spec: TrainableSpec, head: string[]): string[] {
  if (spec === 'all') return params.map((p) => p.name)
  if (spec === 'head') return head.filter(Boolean)
  if ('lastBlocks' in spec) {
    const blocks = [...new Set(params.map(blockOf))]
    const keep = new Set(blocks.slice(Math.max(0, blocks.length - spec.lastBlocks)))
    return params.filter((p) => keep.has(blockOf(p))).map((p) => p.name)
  }
  const chosen = params.filter((p) => spec.names.some((s) => p.name === s || p.name.startsWith(`${s}.`) || p.name.startsWith(`${s}/`)))
  const unmatched = spec.names.filter((s) => !chosen.some((p) => p.name === s || p.name.startsWith(`${s}.`) || p.name.startsWith(`${s}/`)))
  if (unmatched.length) {
    const known = params.slice(0, 12).map((p) => p.name).join(', ')
    throw new ApiError('not-found', `No trainable weights named or under ${unmatched.join(', ')} (weights include ${known}${params.length > 12 ? ', ...' : ''}).`)
  }
  return chosen.map((p) => p.name)
}
