import { ApiError } from '../../../shared/errors'
import type { ChannelOrder, Normalization, Resize } from '../../../shared/preprocess'
import { MAX_IMAGE_PIXELS } from './images'

export interface Preprocess {
  /** [height, width] the model takes. */
  size: [number, number]
  layout: 'NCHW' | 'NHWC'
  normalization: Normalization
  /**
   * stretch: resize to exactly height x width (aspect ratio not kept).
   * center-crop: scale so the image covers the target (the shorter side lands on it, as
   * torchvision's Resize(n) does), then cut the centre out, as CenterCrop does.
   */
  resize: Resize
  /** Colour channels the model takes; 1 means greyscale. Absent means 3. */
  channels?: 1 | 3
  /**
   * Order of the three colour channels. Absent means rgb. The ImageNet mean/std follow the colour,
   * not the slot.
   */
  channelOrder?: ChannelOrder
}

const DEFAULT_SIZE = 224

export type Dim = number | string | null

/** Picks layout, size and channel count from a model's input shape, e.g. ['batch', 3, 224, 224]. */
export function inferPreprocess(inputShape: Dim[], overrides: Partial<Preprocess> = {}): Preprocess {
  const shown = `[${inputShape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`
  const unsupported = (why: string) =>
    new ApiError('unsupported', `The model input ${shown} is not an image input: ${why}.`, undefined, { shape: inputShape })
  if (inputShape.length !== 4) throw unsupported('expected 4 dimensions (batch, channels, height, width or batch, height, width, channels)')
  const isChannels = (d: Dim) => d === 1 || d === 3
  let layout = overrides.layout
  if (layout === undefined) {
    // Channels-first wins a tie ([1, 3, 3, 3]) because ONNX exports of vision models are NCHW.
    if (isChannels(inputShape[1])) layout = 'NCHW'
    else if (isChannels(inputShape[3])) layout = 'NHWC'
    else throw unsupported('neither dimension 1 nor dimension 3 is 1 or 3 colour channels')
  }
  const [c, h, w] = layout === 'NCHW' ? [inputShape[1], inputShape[2], inputShape[3]] : [inputShape[3], inputShape[1], inputShape[2]]
  if (!isChannels(c)) throw unsupported(`a ${layout} input needs 1 or 3 channels, not ${c === null ? '?' : c}`)
  // Symbolic or unknown spatial sizes mean the model is size-agnostic; 224 is the common training size.
  const spatial = (d: Dim) => (typeof d === 'number' && Number.isInteger(d) && d > 0 ? d : DEFAULT_SIZE)
  const pre: Preprocess = {
    size: overrides.size ?? [spatial(h), spatial(w)],
    layout,
    normalization: overrides.normalization ?? 'imagenet',
    resize: overrides.resize ?? 'stretch',
    channels: c as 1 | 3,
    ...(overrides.channelOrder ? { channelOrder: overrides.channelOrder } : {})
  }
  checkSize(pre.size)
  return pre
}

/** Whether the input's height and width are symbolic or unknown (the model takes any size). */
export function hasDynamicSize(inputShape: Dim[], layout: 'NCHW' | 'NHWC'): boolean {
  const [h, w] = layout === 'NCHW' ? [inputShape[2], inputShape[3]] : [inputShape[1], inputShape[2]]
  const fixed = (d: Dim) => typeof d === 'number' && Number.isInteger(d) && d > 0
  return !fixed(h) || !fixed(w)
}

/** `WxH` (e.g. 192x48) or one number for a square, as [height, width]. */
export function parseSize(text: string, what?: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*$/.exec(text)
  if (!m) throw new ApiError('invalid-arguments', `${what ?? 'The input size'} must be WIDTHxHEIGHT, e.g. 224x224 or 192x48 (got "${text}").`, undefined, what ? undefined : { field: 'size', constraint: 'format', value: text })
  const size: [number, number] = [Number(m[2] ?? m[1]), Number(m[1])]
  checkSize(size)
  return size
}

/** Throws unless [height, width] is a size an image can be resized to. */
export function checkSize(size: [number, number]): void {
  const [h, w] = size
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new ApiError('invalid-arguments', `The image size ${h}x${w} (height x width) must be two positive whole numbers.`)
  }
  if (h * w > MAX_IMAGE_PIXELS) throw new ApiError('out-of-range', `The image size ${h}x${w} is larger than ${MAX_IMAGE_PIXELS} pixels.`)
}
