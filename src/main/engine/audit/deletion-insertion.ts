import { copyPixels, type Plane } from './pixels'

/**
 * Deletion and insertion (Petsiuk et al. 2018, RISE, section 4.1). Pixels are ranked by the map, most
 * relevant first. Deletion: after step i of `steps`, the first floor(i * HW / steps) ranked pixels of
 * the image are replaced by the baseline's; a faithful map makes the class probability fall fast (low
 * area). Insertion: the same pixels are copied from the image into the baseline; the probability
 * should rise fast (high area). The area is the trapezoid rule over fractions 0, 1/steps, ..., 1.
 */

/** Pixels changed after step i. */
export function stepCount(i: number, steps: number, area: number): number {
  return Math.floor((i * area) / steps)
}

/** Area under a curve sampled at equal spacing over [0, 1] (RISE's auc: (sum - first/2 - last/2) / (n - 1)). */
export function auc(curve: ArrayLike<number>): number {
  const n = curve.length
  if (n < 2) return n ? curve[0] : 0
  let s = 0
  for (let i = 0; i < n; i++) s += curve[i]
  return (s - curve[0] / 2 - curve[n - 1] / 2) / (n - 1)
}

/**
 * Fills `dst` with step i of the deletion (`from` = image, `to` = baseline) or insertion (`from` =
 * baseline, `to` = image) sequence: `from` with its first k ranked pixels taken from `to`.
 */
export function fillStep(dst: Float32Array, from: Float32Array, to: Float32Array, order: Uint32Array, i: number, steps: number, plane: Plane): void {
  dst.set(from)
  copyPixels(dst, to, order, 0, stepCount(i, steps, plane.height * plane.width), plane)
}
