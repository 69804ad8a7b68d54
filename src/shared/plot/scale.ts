import { maxOf, minOf } from '../stats'

/** A rectangle in SVG user units (the plot area inside a viewBox). */
export interface Box {
  left: number
  top: number
  width: number
  height: number
}

export interface Padding {
  left: number
  right: number
  top: number
  bottom: number
}

/** A viewBox and the plot area inside it: what axes, curves and bars are laid out in. */
export interface Frame {
  width: number
  height: number
  box: Box
}

export type Scale = (v: number) => number

/**
 * A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps everything to the middle of the
 * range. `clamp` pins values outside the domain to its ends (curves that overshoot a fixed axis).
 */
export function linear(domain: [number, number], range: [number, number], clamp = false): Scale {
  const [d0, d1] = domain
  const [r0, r1] = range
  if (d1 === d0) return () => (r0 + r1) / 2
  const lo = Math.min(d0, d1)
  const hi = Math.max(d0, d1)
  return (v) => r0 + (((clamp ? Math.min(hi, Math.max(lo, v)) : v) - d0) / (d1 - d0)) * (r1 - r0)
}

/** The plot area inside a `width` x `height` viewBox; the default padding leaves room for tick labels on the left and below. */
export function plotArea(width: number, height: number, pad: Padding = { left: 36, right: 16, top: 8, bottom: 28 }): Box {
  return { left: pad.left, top: pad.top, width: width - pad.left - pad.right, height: height - pad.top - pad.bottom }
}

export function plotFrame(width: number, height: number, pad?: Padding): Frame {
  return { width, height, box: plotArea(width, height, pad) }
}

/** x over `domain`, left to right across the box. */
export const xScale = (box: Box, domain: [number, number] = [0, 1], clamp = false): Scale => linear(domain, [box.left, box.left + box.width], clamp)

/** y over `domain`, bottom to top (SVG y grows downwards). */
export const yScale = (box: Box, domain: [number, number] = [0, 1], clamp = false): Scale => linear(domain, [box.top + box.height, box.top], clamp)

/** The finite values' [min, max], or null when there is none. */
export function bounds(values: number[]): [number, number] | null {
  const finite = values.filter(Number.isFinite)
  return finite.length ? [minOf(finite), maxOf(finite)] : null
}

/** A flat domain widened by half a unit each way, so a constant curve sits mid-plot instead of dividing by zero. */
export const widen = ([lo, hi]: [number, number]): [number, number] => (lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi])

/** The finite values' [min, max], widened to `fixed` when given (e.g. [0, 1] for probabilities); [0, 1] when empty. */
export function extent(values: number[], fixed?: [number, number]): [number, number] {
  let [lo, hi] = bounds(values) ?? [0, 1]
  if (fixed) {
    lo = Math.min(lo, fixed[0])
    hi = Math.max(hi, fixed[1])
  }
  return widen([lo, hi])
}
