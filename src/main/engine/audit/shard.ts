import { ApiError } from '../../../shared/errors'

export interface Shard {
  /** 1-based, as `1/4` ... `4/4` (jest and playwright count shards the same way). */
  index: number
  count: number
}

/** Parses `K/N` (1 <= K <= N); anything else is a clear error. */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec)
  if (!m) throw new ApiError('invalid-arguments', `A shard is K/N, e.g. 1/4 for the first of 4 shards (got "${spec}").`, undefined, { field: 'shard', constraint: 'format', value: spec })
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1) throw new ApiError('invalid-arguments', `Shard ${spec}: the number of shards must be at least 1.`, undefined, { field: 'shard', constraint: 'count', value: spec })
  if (index < 1 || index > count) {
    throw new ApiError('invalid-arguments', `Shard ${spec}: the shard number must be between 1 and ${count} (shards count from 1; for a 0-based index such as JOB_COMPLETION_INDEX use K = index + 1).`, undefined, { field: 'shard', constraint: 'range', value: spec, count })
  }
  return { index, count }
}

/** The byte-wise order of the relative paths: the same on every machine and locale (localeCompare is not). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The shard's part of the sorted inputs: every N-th item from position K - 1 (round robin, so each
 * shard gets a similar mix of classes and the parts differ in size by at most one). Disjoint shards
 * whose union is the whole list.
 */
export function shardOf<T>(sorted: readonly T[], shard: Shard | null): T[] {
  if (!shard) return [...sorted]
  return sorted.filter((_, i) => i % shard.count === shard.index - 1)
}
