import { xScale, yScale, type Box, type Scale } from './scale'

export interface Point {
  x: number
  y: number
}

/** The points with both coordinates finite (a missing or failed sample leaves a gap, not a NaN in the SVG). */
export const finitePoints = (points: Point[]): Point[] => points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))

/** SVG polyline `points` for data points through two scales, to 0.1 unit; non-finite points are skipped. */
export function polylinePoints(points: Point[], x: Scale, y: Scale): string {
  return finitePoints(points)
    .map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
    .join(' ')
}

/** Pairs xs[i] with ys[i]. */
export const zipPoints = (xs: number[], ys: number[]): Point[] => xs.map((x, i) => ({ x, y: ys[i] }))

/**
 * A curve sampled at evenly spaced fractions (deletion/insertion: steps + 1 points over 0..1) as
 * SVG polyline points in `box`, with y over `yDomain`; `xs` gives other positions in 0..1 (ROAD's
 * percentiles). Non-finite samples are skipped.
 */
export function curvePoints(values: number[], box: Box, yDomain: [number, number] = [0, 1], xs?: number[]): string {
  const n = values.length
  const at = (i: number) => (xs ? xs[i] : n > 1 ? i / (n - 1) : 0)
  return polylinePoints(
    values.map((y, i) => ({ x: at(i), y })),
    xScale(box),
    yScale(box, yDomain)
  )
}
