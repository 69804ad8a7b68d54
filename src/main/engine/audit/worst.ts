import type { WorstCase } from '../../../shared/audit'

/** Orders worst cases: highest score first, then path (so the same set always comes out the same). */
export function byScore(a: { score: number; path: string }, b: { score: number; path: string }): number {
  return b.score - a.score || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

/**
 * The `k` worst cases per list, kept while streaming: thumbnails are made only for a candidate that
 * enters its list. A shard's lists hold its own worst k, so the global worst k are among the union of
 * the shards' lists (merge takes them from there).
 */
export class WorstKeeper {
  readonly lists = new Map<string, WorstCase[]>()

  constructor(readonly k: number) {}

  wouldKeep(list: string, score: number, path: string): boolean {
    const l = this.lists.get(list) ?? []
    return l.length < this.k || byScore({ score, path }, l[l.length - 1]) < 0
  }

  add(list: string, entry: WorstCase): void {
    const l = this.lists.get(list) ?? []
    l.push(entry)
    l.sort(byScore)
    if (l.length > this.k) l.length = this.k
    this.lists.set(list, l)
  }

  toJSON(): Record<string, WorstCase[]> {
    return Object.fromEntries([...this.lists.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
  }
}

/** Merges lists from several keepers (shards) into the worst k of their union. */
export function mergeWorst(parts: Record<string, WorstCase[]>[], k: number): Record<string, WorstCase[]> {
  const keeper = new WorstKeeper(k)
  for (const part of parts) for (const [list, entries] of Object.entries(part)) for (const e of entries) keeper.add(list, e)
  return keeper.toJSON()
}

/** List names: calibration's two lists and one faithfulness list per method. */
export const MISTAKES = 'mistakes'
export const UNSURE = 'unsure-correct'
export const faithList = (method: string) => `faithfulness:${method}`
