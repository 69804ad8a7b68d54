import type { Layout } from '../pixel/channels'

/** A per-pixel value on every channel of a [C*H*W] attribution (windows and masks cover all channels alike). */
export function acrossChannels(map: Float64Array | Float32Array, chw: [number, number, number], layout: Layout): Float32Array {
  const [channels, h, w] = chw
  const plane = h * w
  const out = new Float32Array(channels * plane)
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[layout === 'NCHW' ? c * plane + p : p * channels + c] = map[p]
  return out
}

/** RISE's displayed map: the saliency (an expected score) min-max scaled, as the paper shows it. */
export function minMaxDisplay(map: Float32Array): Float32Array {
  let min = Infinity
  let max = -Infinity
  for (const v of map) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const range = max - min
  return Float32Array.from(map, (v) => (range > 0 ? (v - min) / range : 0))
}
