import type { Normalization, NormalizationLayers } from '../../../shared/preprocess'
import type { Weight } from './tfjs-files'
import type { LayerJson } from './tfjs-layer-rules'
import { inboundRefs, layerName, NESTED } from './tfjs-layers'
import { composeAffine, normalizationAffine, rescalingAffine, type ChannelAffine } from './tfjs-scaling-params'

/** What a model's own input layers say about the normalisation it takes. */
export interface InputScaling {
  normalization: Normalization
  layers: NormalizationLayers
}

const SCALING = new Set(['Rescaling', 'Normalization'])

/**
 * The pixel ranges a model may take, each with the normalisation that produces it, in the order
 * tried: Keras' own preprocessing layers are written for raw 0..255 pixels, so that reading wins
 * when it fits.
 */
const RANGES: { normalization: Normalization; lo: number; hi: number }[] = [
  { normalization: 'raw', lo: 0, hi: 255 },
  { normalization: 'unit', lo: 0, hi: 1 },
  { normalization: 'symmetric', lo: -1, hi: 1 }
]

/**
 * Whether the layers bring an input range to the few units around zero a network is trained on
 * ([0,1], [-1,1], ImageNet's [-2.1, 2.6]): every channel within +-4 and spread over at least 0.5.
 */
function normalises({ scale, offset }: ChannelAffine, lo: number, hi: number): boolean {
  return scale.every((a, i) => {
    const b = offset[offset.length === 1 ? 0 : i]
    const [y0, y1] = [a * lo + b, a * hi + b].sort((p, q) => p - q)
    return Number.isFinite(y0) && Number.isFinite(y1) && Math.max(-y0, y1) <= 4 && y1 - y0 >= 0.5
  })
}

/**
 * The Rescaling / Normalization layers a model applies to its input before anything else, in order:
 * through nested models (Teachable Machine's Sequential around a base), each layer the only reader
 * of the tensor before it.
 */
function leadingScalingLayers(model: LayerJson): LayerJson[] {
  const cfg = model.config as unknown
  if (model.class_name === 'Sequential') {
    const layers = ((Array.isArray(cfg) ? cfg : (cfg as { layers?: LayerJson[] }).layers) ?? []) as LayerJson[]
    const out: LayerJson[] = []
    for (const l of layers) {
      if (l.class_name === 'InputLayer') continue
      if (NESTED.has(l.class_name)) return [...out, ...leadingScalingLayers(l)]
      if (!SCALING.has(l.class_name)) break
      out.push(l)
    }
    return out
  }
  const c = cfg as { layers?: LayerJson[]; input_layers?: unknown }
  const layers = c.layers ?? []
  const inputs = inboundRefs(c.input_layers)
  if (inputs.length !== 1) return []
  const out: LayerJson[] = []
  let current = inputs[0][0]
  for (;;) {
    const readers = layers.filter((l) => inboundRefs(l.inbound_nodes ?? []).some(([name]) => name === current))
    if (readers.length !== 1) return out
    const next = readers[0]
    if (NESTED.has(next.class_name)) return [...out, ...leadingScalingLayers(next)]
    if (!SCALING.has(next.class_name)) return out
    out.push(next)
    current = layerName(next)
  }
}

/** An adapted Normalization keeps its mean and variance as weights `.../<layer>/mean`. */
function weightOf(weights: Map<string, Weight>, layer: string, key: string): Float32Array | Int32Array | null {
  const exact = weights.get(`${layer}/${key}`)
  if (exact) return exact.data
  const hits = [...weights.keys()].filter((k) => k.endsWith(`/${layer}/${key}`))
  return hits.length === 1 ? weights.get(hits[0])!.data : null
}

const short = (v: number) => String(Number(v.toPrecision(3)))
const shown = (v: number[]) => (v.length === 1 ? short(v[0]) : `[${v.map(short).join(', ')}]`)

/** `x × 0.00392`, `x × 0.00784 − 1`, or per channel `x × [a, b, c] + [d, e, f]`. */
function formula({ scale, offset }: ChannelAffine): string {
  const times = `x × ${shown(scale)}`
  if (offset.length > 1) return `${times} + ${shown(offset)}`
  const b = offset[0]
  return b === 0 ? times : `${times} ${b < 0 ? '−' : '+'} ${short(Math.abs(b))}`
}

/**
 * What a LayersModel's own Rescaling / Normalization layers at its input say it takes: raw 0..255
 * pixels for Keras' usual Rescaling(1/255), Rescaling(1/127.5, -1) or a Normalization with pixel
 * statistics; [0,1] for Rescaling(2, -1) or a Normalization with [0,1] statistics. Null when the
 * model has no such layers, they do nothing (an identity), or no input range fits them.
 */
export function inputScalingOf(topology: unknown, weights: Map<string, Weight>): InputScaling | null {
  const topo = topology as Record<string, unknown> | null
  const root = (topo?.model_config ?? topo) as LayerJson | null
  if (!root || !NESTED.has(root.class_name)) return null
  const layers = leadingScalingLayers(root)
  let affine: ChannelAffine = { scale: [1], offset: [0] }
  for (const l of layers) {
    const cfg = l.config ?? {}
    const step = l.class_name === 'Rescaling' ? rescalingAffine(cfg) : normalizationAffine(cfg, (key) => weightOf(weights, layerName(l), key))
    if (!step) return null
    affine = composeAffine(affine, step)
  }
  const identity = affine.scale.every((a) => Math.abs(a - 1) < 1e-6) && affine.offset.every((b) => Math.abs(b) < 1e-6)
  if (!layers.length || identity) return null
  const range = RANGES.find((r) => normalises(affine, r.lo, r.hi))
  if (!range) return null
  return {
    normalization: range.normalization,
    layers: {
      layers: layers.map((l) => ({ name: layerName(l), className: l.class_name })),
      formula: formula(affine)
    }
  }
}
