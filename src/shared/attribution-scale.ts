/**
 * How pixel attributions are scaled for display, the same in the engine (the magnitude overlay it
 * writes) and the renderer (the signed view it recolours): Captum's visualize_image_attr divides by the
 * value below which (100 - outlierPercent)% of the total |attribution| lies and clips at 1, because
 * gradient maps are spiky: scaled by their maximum, a few pixels would take the whole colour range.
 */
export function outlierThreshold(values: ArrayLike<number>, outlierPercent = 2): number {
  const abs = Float64Array.from(values, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)).sort()
  let total = 0
  for (const v of abs) total += v
  if (!(total > 0)) return 0
  const wanted = total * (1 - outlierPercent / 100)
  let cum = 0
  for (const v of abs) {
    cum += v
    if (cum >= wanted) return v > 0 ? v : abs[abs.length - 1]
  }
  return abs[abs.length - 1]
}

/**
 * A signed map in [0, 1] for a diverging colour map: 0.5 is zero, 0 and 1 are -bound and +bound
 * (clipped). `bound` defaults to the outlier threshold of the map itself (Captum's sign 'all').
 */
export function signedDisplay(values: ArrayLike<number>, bound = outlierThreshold(values)): Float32Array {
  const out = new Float32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    out[i] = bound > 0 && Number.isFinite(v) ? Math.min(1, Math.max(0, 0.5 + (0.5 * v) / bound)) : 0.5
  }
  return out
}
