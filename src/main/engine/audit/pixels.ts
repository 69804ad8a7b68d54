/**
 * Pixel-level operations on one preprocessed model input ([C*H*W] floats in NCHW or NHWC order):
 * the relevance orders, baselines and replacements the faithfulness metrics are built from. A
 * "pixel" is a spatial position; every operation acts on all its channels together.
 */

export interface Plane {
  channels: number
  height: number
  width: number
  layout: 'NCHW' | 'NHWC'
}

/** Offset of channel c of pixel p. */
export function at(plane: Plane, p: number, c: number): number {
  return plane.layout === 'NCHW' ? c * plane.height * plane.width + p : p * plane.channels + c
}

/**
 * Pixel indices, most relevant first: a stable sort of the map descending, ties by pixel index
 * (numpy: argsort(-map, kind='stable')). `ascending` gives least relevant first.
 */
export function relevanceOrder(map: Float32Array, ascending = false): Uint32Array {
  const order = Uint32Array.from({ length: map.length }, (_, i) => i)
  if (ascending) order.sort((a, b) => map[a] - map[b] || a - b)
  else order.sort((a, b) => map[b] - map[a] || a - b)
  return order
}

/** Copies channel values of pixels order[from..to) from `src` into `dst`. */
export function copyPixels(dst: Float32Array, src: Float32Array, order: Uint32Array, from: number, to: number, plane: Plane): void {
  for (let i = from; i < to; i++) {
    const p = order[i]
    for (let c = 0; c < plane.channels; c++) {
      const o = at(plane, p, c)
      dst[o] = src[o]
    }
  }
}

/** Each channel's mean value, as a whole image. */
export function meanBaseline(x: Float32Array, plane: Plane): Float32Array {
  const area = plane.height * plane.width
  const out = new Float32Array(x.length)
  for (let c = 0; c < plane.channels; c++) {
    let s = 0
    for (let p = 0; p < area; p++) s += x[at(plane, p, c)]
    const m = s / area
    for (let p = 0; p < area; p++) out[at(plane, p, c)] = m
  }
  return out
}

/** RISE's blur: a Gaussian of 11 taps, sigma 5 (Petsiuk et al. 2018), normalised to sum 1. */
export function gaussianKernel(taps = 11, sigma = 5): Float64Array {
  const half = (taps - 1) / 2
  const k = Float64Array.from({ length: taps }, (_, i) => Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)))
  const total = k.reduce((a, b) => a + b, 0)
  return k.map((v) => v / total)
}

/**
 * Separable Gaussian blur of each channel, edges extended (clamped) so the border keeps its colour
 * rather than fading to zero.
 */
export function blurBaseline(x: Float32Array, plane: Plane, kernel = gaussianKernel()): Float32Array {
  const { height: H, width: W } = plane
  const half = (kernel.length - 1) / 2
  const out = new Float32Array(x.length)
  const row = new Float64Array(H * W)
  for (let c = 0; c < plane.channels; c++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        let s = 0
        for (let k = 0; k < kernel.length; k++) {
          const sx = Math.min(W - 1, Math.max(0, xx + k - half))
          s += kernel[k] * x[at(plane, y * W + sx, c)]
        }
        row[y * W + xx] = s
      }
    }
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        let s = 0
        for (let k = 0; k < kernel.length; k++) {
          const sy = Math.min(H - 1, Math.max(0, y + k - half))
          s += kernel[k] * row[sy * W + xx]
        }
        out[at(plane, y * W + xx, c)] = s
      }
    }
  }
  return out
}

/** Small deterministic PRNG (mulberry32, the engine's one seeded generator): the same seed gives the same noise on every machine. */
export { mulberry32 } from '../data/random'

/** Standard normal samples (Box-Muller) from a uniform source. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand()
    const v = rand()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
}

/** A 32-bit seed from text (FNV-1a), so noise depends on the image and settings, not on run order. */
export function seedOf(...parts: (string | number)[]): number {
  let h = 0x811c9dc5
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0)!
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}
