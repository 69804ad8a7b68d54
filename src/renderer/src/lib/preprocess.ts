import type { ModelSummary, PreprocessChoice } from '../../../shared/api'

/**
 * What the preprocessing controls need to know about a model, read from its summary the way the
 * engine reads it (src/main/engine/data/preprocess.ts inferPreprocess / hasDynamicSize /
 * sizeFromMetadata and cam/inputs.ts modelPreprocess), so "model default" can say what it means.
 */

export const NORMALIZATIONS = ['imagenet', 'unit', 'symmetric'] as const
export const RESIZES = ['stretch', 'center-crop'] as const
export const CHANNEL_ORDERS = ['rgb', 'bgr'] as const
/** The API's limit on each side of a chosen size. */
export const MAX_SIDE = 8192

type Dim = number | string | null
type Normalization = (typeof NORMALIZATIONS)[number]
type Resize = (typeof RESIZES)[number]
type ChannelOrder = (typeof CHANNEL_ORDERS)[number]
export interface Size {
  width: number
  height: number
}

export interface ModelDefaults {
  /** Colour channels of the input (1: greyscale, where channel order means nothing), null when unknown. */
  channels: number | null
  /** True when the file leaves height and width open: only then can a size be chosen. */
  dynamicSize: boolean
  normalization: Normalization
  resize: Resize
  channelOrder: ChannelOrder
  /** The size a run uses when none is chosen: metadata, else the fixed or 224x224 input size; null when the metadata entry is malformed. */
  size: Size | null
}

const fixed = (d: Dim): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0
const isChannels = (d: Dim) => d === 1 || d === 3

/** `WxH` or one number (a square), as the engine's parseSize reads metadata; null when malformed. */
function parseSizeText(text: string): Size | null {
  const m = /^\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*$/.exec(text)
  if (!m) return null
  const size = { width: Number(m[1]), height: Number(m[2] ?? m[1]) }
  return size.width > 0 && size.height > 0 ? size : null
}

export function modelDefaults(summary: ModelSummary): ModelDefaults {
  const shape = summary.inputs[0]?.shape ?? []
  // Channels-first wins a tie, as in the engine: ONNX exports of vision models are NCHW.
  const layout = isChannels(shape[1]) ? 'NCHW' : isChannels(shape[3]) ? 'NHWC' : null
  const [c, h, w] = layout === 'NHWC' ? [shape[3], shape[1], shape[2]] : [shape[1], shape[2], shape[3]]
  const dynamicSize = shape.length === 4 && layout !== null && (!fixed(h) || !fixed(w))
  const meta = summary.metadata
  const norm = meta['metascope.normalization']
  const resize = meta['metascope.resize']
  const order = meta['metascope.channel_order']?.toLowerCase()
  let size: Size | null = fixed(h) && fixed(w) ? { width: w, height: h } : { width: 224, height: 224 }
  if (dynamicSize) {
    const key = ['metascope.size', 'input_size', 'image_size'].find((k) => meta[k]?.trim())
    if (key) size = parseSizeText(meta[key])
  }
  return {
    channels: layout ? (c as number) : null,
    dynamicSize,
    normalization: (NORMALIZATIONS as readonly string[]).includes(norm ?? '') ? (norm as Normalization) : 'imagenet',
    resize: (RESIZES as readonly string[]).includes(resize ?? '') ? (resize as Resize) : 'stretch',
    channelOrder: order === 'bgr' ? 'bgr' : 'rgb',
    size
  }
}

/** Why a typed size cannot be used (an i18n key under model.pre), or the size (null: both empty, the model's default). */
export type SizeCheck = { ok: true; size: Size | null } | { ok: false; problem: 'sizeBoth' | 'sizeWhole' | 'sizeRange' }

export function checkSizeText(width: string, height: string): SizeCheck {
  const w = width.trim()
  const h = height.trim()
  if (!w && !h) return { ok: true, size: null }
  if (!w || !h) return { ok: false, problem: 'sizeBoth' }
  if (!/^\d+$/.test(w) || !/^\d+$/.test(h)) return { ok: false, problem: 'sizeWhole' }
  const size = { width: Number(w), height: Number(h) }
  if (size.width < 1 || size.height < 1 || size.width > MAX_SIDE || size.height > MAX_SIDE) return { ok: false, problem: 'sizeRange' }
  return { ok: true, size }
}

/**
 * The cam.run fields for a choice: only what the user picked (the engine fills the rest from the
 * model's metadata), and a size only for a model whose size is dynamic (a fixed one refuses it).
 */
export function preprocessArgs(choice: PreprocessChoice | undefined, dynamicSize: boolean): PreprocessChoice {
  if (!choice) return {}
  return {
    ...(choice.normalization ? { normalization: choice.normalization } : {}),
    ...(choice.resize ? { resize: choice.resize } : {}),
    ...(choice.channelOrder ? { channelOrder: choice.channelOrder } : {}),
    ...(choice.size && dynamicSize ? { size: { width: choice.size.width, height: choice.size.height } } : {})
  }
}
