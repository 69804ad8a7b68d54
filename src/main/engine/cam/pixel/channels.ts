import { outlierThreshold } from '../../../../shared/attribution-scale'
/**
 * Per-pixel reductions of a [C*H*W] attribution in the model's layout, and the display scaling of the
 * pixel maps. Pixel maps are at the input's resolution: nothing is resized or blurred.
 */
export type Layout = 'NCHW' | 'NHWC'

function index(layout: Layout, c: number, p: number, channels: number, plane: number): number {
  return layout === 'NCHW' ? c * plane + p : p * channels + c
}

/** map[p] = sum_c a[c, p] (signed: Input x Gradient, Integrated Gradients; sums to the total attribution). */
export function sumChannels(a: Float32Array | Float64Array, chw: [number, number, number], layout: Layout): Float32Array {
  const [channels, h, w] = chw
  const plane = h * w
  const out = new Float32Array(plane)
  for (let p = 0; p < plane; p++) {
    let s = 0
    for (let c = 0; c < channels; c++) s += a[index(layout, c, p, channels, plane)]
    out[p] = s
  }
  return out
}

/** map[p] = max_c |a[c, p]| (Simonyan et al.'s saliency map; the SmoothGrad family). */
export function maxAbsChannels(a: Float32Array | Float64Array, chw: [number, number, number], layout: Layout): Float32Array {
  const [channels, h, w] = chw
  const plane = h * w
  const out = new Float32Array(plane)
  for (let p = 0; p < plane; p++) {
    let m = 0
    for (let c = 0; c < channels; c++) m = Math.max(m, Math.abs(a[index(layout, c, p, channels, plane)]))
    out[p] = m
  }
  return out
}

/**
 * The displayed map in [0, 1]: |map| divided by the value below which 98% of the total |map| lies,
 * clipped at 1 (Captum's visualize_image_attr, sign 'absolute_value', outlier_perc 2). Gradient maps
 * are spiky: scaled by their maximum, a few pixels would take the whole colour range. A signed map is
 * shown by magnitude; its sign stays in the raw map.
 */
export function displayMap(map: Float32Array, outlierPercent = 2): Float32Array {
  const threshold = outlierThreshold(map, outlierPercent)
  const out = new Float32Array(map.length)
  if (!(threshold > 0)) return out
  for (let i = 0; i < map.length; i++) out[i] = Number.isFinite(map[i]) ? Math.min(1, Math.abs(map[i]) / threshold) : NaN
  return out
}
