import type { Layout } from '../pixel/channels'

/** A per-pixel value on every channel of a [C*H*W] attribution (windows and masks cover all channels alike). */
export function acrossChannels(map: Float64Array | Float32Array, chw: [number, number, number], layout: Layout): Float32Array {
  const [channels, h, w] = chw
  const plane = h * w
  const out = new Float32Array(channels * plane)
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[layout === 'NCHW' ? c * plane + p : p * channels + c] = map[p]
  return out
}
