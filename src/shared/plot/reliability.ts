import { xScale, yScale, type Box } from './scale'

/** A confidence bin, as the audit computes it (accuracy and confidence are null for an empty bin). */
export interface ConfidenceBin {
  lo: number
  hi: number
  count: number
  accuracy: number | null
  confidence: number | null
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
  /** The bin's mean confidence, mid-bar. */
  marker: { x: number; y: number }
}

/**
 * The reliability diagram's bars: one per non-empty bin, from lo to hi on x, up to the bin's accuracy
 * on y; the gap rectangle spans accuracy to mean confidence (what ECE sums, weighted by count).
 */
export function reliabilityBars(bins: ConfidenceBin[], box: Box): ReliabilityBar[] {
  const x = xScale(box)
  const y = yScale(box)
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
        gap: { left, top: gapTop, width, height: Math.abs(y(b.accuracy) - y(b.confidence)) },
        marker: { x: (x(b.lo) + x(b.hi)) / 2, y: y(b.confidence) }
      }
    ]
  })
}

/** `b` narrowed by `dx` on each side (never below zero width): the gutter between neighbouring bars. */
export const inset = (b: Box, dx: number): Box => ({ ...b, left: b.left + dx, width: Math.max(0, b.width - 2 * dx) })
