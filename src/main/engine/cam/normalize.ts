/**
 * Scales a map to [0,1] as pytorch-grad-cam's scale_cam_image does: x - min, then divided by
 * eps + the new max. The eps keeps a constant map at 0 instead of 0/0. NaN entries are left out
 * of min and max (one bad pixel should not blank the map) and stay NaN.
 */
export function minMaxNormalize(map: Float32Array, eps = 1e-7): Float32Array {
  let min = Infinity
  let max = -Infinity
  for (const v of map) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const out = new Float32Array(map.length)
  if (min === Infinity) return out.fill(NaN) // empty, or NaN everywhere
  const denom = eps + (max - min)
  for (let i = 0; i < map.length; i++) out[i] = (map[i] - min) / denom
  return out
}
