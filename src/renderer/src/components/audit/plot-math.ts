import type { AuditImage, ReliabilityBin } from '../../../../shared/audit'
import { maxOf, minOf } from '../../../../shared/stats'
import { camMethodName } from '../../../../shared/registry/cam-methods'

/**
 * Pure helpers behind the audit plots and tables (no DOM, no Vue), so their arithmetic is unit-tested:
 * scales, the reliability diagram's bars, curve points, heat-grid shades and confusion-cell lookups.
 */

export interface Box {
  left: number
  top: number
  width: number
  height: number
}

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps everything to the middle of the range. */
export function linear(domain: [number, number], range: [number, number]): (v: number) => number {
  const [d0, d1] = domain
  const [r0, r1] = range
  if (d1 === d0) return () => (r0 + r1) / 2
  return (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0)
}

/** The plot area inside a `width` x `height` viewBox with room for tick labels on the left and below. */
export function plotArea(width: number, height: number, pad = { left: 36, right: 16, top: 8, bottom: 28 }): Box {
  return { left: pad.left, top: pad.top, width: width - pad.left - pad.right, height: height - pad.top - pad.bottom }
}

/** The finite values' [min, max], widened to `fixed` when given (e.g. [0, 1] for probabilities); [0, 1] when empty. */
export function extent(values: number[], fixed?: [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite)
  let lo = finite.length ? minOf(finite) : 0
  let hi = finite.length ? maxOf(finite) : 1
  if (fixed) {
    lo = Math.min(lo, fixed[0])
    hi = Math.max(hi, fixed[1])
  }
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi]
}

/**
 * A curve sampled at evenly spaced fractions (deletion/insertion: steps + 1 points over 0..1) as
 * SVG polyline points in `box`, with y over `yDomain`. Non-finite samples are skipped.
 */
export function curvePoints(values: number[], box: Box, yDomain: [number, number] = [0, 1], xs?: number[]): string {
  const n = values.length
  const x = linear([0, 1], [box.left, box.left + box.width])
  const y = linear(yDomain, [box.top + box.height, box.top])
  const out: string[] = []
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return
    const fx = xs ? xs[i] : n > 1 ? i / (n - 1) : 0
    out.push(`${x(fx).toFixed(1)},${y(v).toFixed(1)}`)
  })
  return out.join(' ')
}

export interface ReliabilityBar {
  lo: number
  hi: number
  count: number
  accuracy: number
  confidence: number
  /** Bar (accuracy) and gap (between accuracy and mean confidence) rectangles in plot coordinates. */
  bar: Box
  gap: Box
}

/**
 * The reliability diagram's bars: one per non-empty bin, from lo to hi on x, up to the bin's accuracy
 * on y; the gap rectangle spans accuracy to mean confidence (what ECE sums, weighted by count).
 */
export function reliabilityBars(bins: ReliabilityBin[], box: Box): ReliabilityBar[] {
  const x = linear([0, 1], [box.left, box.left + box.width])
  const y = linear([0, 1], [box.top + box.height, box.top])
  return bins.flatMap((b) => {
    if (!b.count || b.accuracy === null || b.confidence === null) return []
    const left = x(b.lo)
    const width = x(b.hi) - x(b.lo)
    const top = y(b.accuracy)
    const gapTop = Math.min(y(b.accuracy), y(b.confidence))
    return [
      {
        lo: b.lo,
        hi: b.hi,
        count: b.count,
        accuracy: b.accuracy,
        confidence: b.confidence,
        bar: { left, top, width, height: box.top + box.height - top },
        gap: { left, top: gapTop, width, height: Math.abs(y(b.accuracy) - y(b.confidence)) }
      }
    ]
  })
}

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

/** Evenly spaced tick values from lo to hi (inclusive), `count` of them. */
export function ticks(lo: number, hi: number, count = 3): number[] {
  if (count < 2) return [lo]
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1))
}

/** A CAM method's display name (proper names, the same in every language), from the registry. */
export const methodLabel = camMethodName
