/**
 * The numbers of Keras' input-scaling layers, as a topology stores them: Rescaling's scale and
 * offset, Normalization's mean and variance (in the config, or as weights when the layer was
 * adapted). Shared by the converter (which computes them) and the reading of what they say about
 * the model's input (tfjs-input-scaling.ts). Values are one number for every channel, or one per
 * channel of the last axis.
 */

/** y = scale * x + offset, per channel (one entry: every channel). */
export interface ChannelAffine {
  scale: number[]
  offset: number[]
}

/**
 * A config value as numbers: a number, a (nested) list, or Keras 3's serialised array
 * ({class_name: '__numpy__', config: {value}}). Null when absent or not numbers.
 */
function numbers(v: unknown): number[] | null {
  if (typeof v === 'number') return [v]
  if (Array.isArray(v)) {
    const flat = (v as unknown[]).flat(8)
    return flat.length && flat.every((x) => typeof x === 'number') ? (flat as number[]) : null
  }
  if (v && typeof v === 'object' && 'config' in v) return numbers((v as { config?: { value?: unknown } }).config?.value)
  return null
}

/** Rescaling: x * scale + offset (Keras' defaults: offset 0). Null when scale is not numbers. */
export function rescalingAffine(cfg: Record<string, unknown>): ChannelAffine | null {
  const scale = numbers(cfg.scale)
  const offset = cfg.offset === undefined || cfg.offset === null ? [0] : numbers(cfg.offset)
  return scale && offset ? { scale, offset } : null
}

/** Keras' backend epsilon: Normalization divides by max(sqrt(variance), epsilon). */
const EPSILON = 1e-7

/**
 * Normalization over the last axis: (x - mean) / sqrt(variance), or its inverse (x * sqrt(variance)
 * + mean) when `invert`. Mean and variance come from the config, else from the layer's weights
 * (`weight('mean')`). Null when they are in neither or the axis is not the last (channels).
 */
export function normalizationAffine(cfg: Record<string, unknown>, weight: (key: string) => ArrayLike<number> | null): ChannelAffine | null {
  const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1]
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3)) return null
  const fromWeight = (key: string) => {
    const w = weight(key)
    return w ? Array.from(w) : null
  }
  const mean = numbers(cfg.mean) ?? fromWeight('mean')
  const variance = numbers(cfg.variance) ?? fromWeight('variance')
  if (!mean || !variance || (mean.length !== variance.length && mean.length !== 1 && variance.length !== 1)) return null
  const n = Math.max(mean.length, variance.length)
  const at = (v: number[], i: number) => v[v.length === 1 ? 0 : i]
  const std = Array.from({ length: n }, (_, i) => Math.max(Math.sqrt(at(variance, i)), EPSILON))
  const m = Array.from({ length: n }, (_, i) => at(mean, i))
  if (cfg.invert === true) return { scale: std, offset: m }
  return { scale: std.map((s) => 1 / s), offset: m.map((v, i) => -v / std[i]) }
}

/** The map `second` after `first`, per channel (a single-entry side is broadcast). */
export function composeAffine(first: ChannelAffine, second: ChannelAffine): ChannelAffine {
  const n = Math.max(first.scale.length, first.offset.length, second.scale.length, second.offset.length)
  const at = (v: number[], i: number) => v[v.length === 1 ? 0 : i]
  const scale: number[] = []
  const offset: number[] = []
  for (let i = 0; i < n; i++) {
    scale.push(at(second.scale, i) * at(first.scale, i))
    offset.push(at(second.scale, i) * at(first.offset, i) + at(second.offset, i))
  }
  return { scale, offset }
}
