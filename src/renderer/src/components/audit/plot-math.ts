import type { AuditImage } from '../../../../shared/audit'
import { camMethodName } from '../../../../shared/registry/cam-methods'

/**
 * Pure helpers behind the audit tables and heat grids (no DOM, no Vue), so their arithmetic is
 * unit-tested: heat-grid shades, confusion-cell lookups, best-in-column and number cells. Plot
 * geometry (scales, ticks, curves, reliability bars) lives in the shared plotting kit, src/shared/plot.
 */

/** Shade of a heat-grid cell in [0, 1]: count / the largest count, 0 for an all-zero grid. */
export function shade(value: number, max: number): number {
  return max > 0 ? Math.max(0, Math.min(1, value / max)) : 0
}

/** The largest off-diagonal count of a confusion matrix (mistakes get their own scale, so one big class does not wash them out). */
export function maxOffDiagonal(m: number[][]): number {
  let max = 0
  m.forEach((row, i) => row.forEach((v, j) => i !== j && v > max && (max = v)))
  return max
}

export function maxDiagonal(m: number[][]): number {
  let max = 0
  m.forEach((row, i) => row[i] > max && (max = row[i]))
  return max
}

/** The images of one confusion cell (labelled `truth`, predicted `predicted`), most confident first. */
export function cellImages(images: AuditImage[], truth: number, predicted: number): AuditImage[] {
  return images
    .filter((im) => !im.error && im.label === truth && im.predicted === predicted)
    .sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0) || a.path.localeCompare(b.path))
}

export type Better = 'higher' | 'lower'

/**
 * Which value in a column is best (index), given which direction is better; null when no row has a
 * finite value. Ties go to the first row (the engine's rank order).
 */
export function bestIndex(values: (number | null)[], better: Better): number | null {
  let best: number | null = null
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return
    if (best === null || (better === 'higher' ? v > values[best]! : v < values[best]!)) best = i
  })
  return best
}

/** A number for a table cell: 3 decimals, '—' for missing. */
export const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits))

/** A CAM method's display name (proper names, the same in every language), from the registry. */
export const methodLabel = camMethodName
