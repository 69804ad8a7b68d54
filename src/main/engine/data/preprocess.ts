import { basename } from 'node:path'
import sharp, { type OutputInfo } from 'sharp'
// Installs the raster-only decoder rule (no SVG, PDF, ...) for every image this module reads.
import './raster'
import { ApiError } from '../../../shared/errors'
import { MAX_IMAGE_PIXELS } from './images'
import { regularFile } from '../files/read'

/**
 * imagenet: torchvision's mean/std on [0,1] values; unit: [0,1]; symmetric: [-1,1] (Inception,
 * many TF/Keras and GAN-era models).
 */
export type Normalization = 'imagenet' | 'unit' | 'symmetric'

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
  resize: 'stretch' | 'center-crop'
  /** Colour channels the model takes; 1 means greyscale. Absent means 3. */
  channels?: 1 | 3
  /**
   * Order of the three colour channels: rgb (torchvision, Keras) or bgr (Caffe and OpenCV-trained
   * models). Absent means rgb. The ImageNet mean/std follow the colour, not the slot.
   */
  channelOrder?: ChannelOrder
}

export type ChannelOrder = 'rgb' | 'bgr'
export const CHANNEL_ORDERS: readonly ChannelOrder[] = ['rgb', 'bgr']

const IMAGENET_MEAN = [0.485, 0.456, 0.406]
const IMAGENET_STD = [0.229, 0.224, 0.225]
/** For greyscale models the usual convention (timm's) is the mean of the RGB statistics. */
const IMAGENET_GREY_MEAN = 0.449
const IMAGENET_GREY_STD = 0.226

const DEFAULT_SIZE = 224

type Dim = number | string | null

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

/**
 * The input size a model's metadata gives for its dynamic height/width: `metascope.size` (WxH, as
 * our scripts write it), or `input_size` / `image_size` (WxH or one number). Null when absent;
 * malformed values are an error naming the key, since they were meant for this model.
 */
export function sizeFromMetadata(meta: Record<string, string>): [number, number] | null {
  for (const key of ['metascope.size', 'input_size', 'image_size']) {
    const v = meta[key]
    if (v !== undefined && v.trim()) return parseSize(v, `The metadata entry ${key}`)
  }
  return null
}

function checkSize(size: [number, number]): void {
  const [h, w] = size
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new ApiError('invalid-arguments', `The image size ${h}x${w} (height x width) must be two positive whole numbers.`)
  }
  if (h * w > MAX_IMAGE_PIXELS) throw new ApiError('out-of-range', `The image size ${h}x${w} is larger than ${MAX_IMAGE_PIXELS} pixels.`)
}

/** Decodes, orients, flattens and resizes one image for a model: [C*H*W] floats in the model's layout. */
export async function loadImageTensor(
  path: string,
  pre: Preprocess
): Promise<{ data: Float32Array; width: number; height: number }> {
  checkSize(pre.size)
  const [height, width] = pre.size
  const { rgb } = await decodeResized(path, pre.size, pre.resize)
  const channels = pre.channels ?? 3
  const pixels = width * height
  const data = new Float32Array(pixels * channels)
  if (channels === 1) {
    const [mean, std] = pre.normalization === 'imagenet' ? [IMAGENET_GREY_MEAN, IMAGENET_GREY_STD] : [0, 1]
    for (let p = 0; p < pixels; p++) {
      const r = rgb[p * 3]
      const g = rgb[p * 3 + 1]
      const b = rgb[p * 3 + 2]
      // PIL's convert('L') (ITU-R 601-2 luma in 16-bit fixed point), which torchvision's Grayscale uses.
      const luma = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
      data[p] = scale(luma, pre.normalization, mean, std)
    }
    return { data, width, height }
  }
  const nchw = pre.layout === 'NCHW'
  for (let c = 0; c < 3; c++) {
    // Colour c (R, G, B) goes to slot c, or to slot 2 - c for BGR models.
    const slot = pre.channelOrder === 'bgr' ? 2 - c : c
    const mean = IMAGENET_MEAN[c]
    const std = IMAGENET_STD[c]
    // One small table per channel: 256 possible byte values, computed once.
    const lut = new Float32Array(256)
    for (let v = 0; v < 256; v++) lut[v] = scale(v, pre.normalization, mean, std)
    for (let p = 0; p < pixels; p++) {
      data[nchw ? slot * pixels + p : p * 3 + slot] = lut[rgb[p * 3 + c]]
    }
  }
  return { data, width, height }
}

/**
 * One byte to one model input, step by step in float32 as torchvision's ToTensor (x / 255) and
 * Normalize ((x - mean) / std) compute it, so the tensor is bit-identical to a PyTorch pipeline's
 * rather than a few ulps off (the subtraction cancels, so float32 and double differ visibly).
 */
function scale(v: number, normalization: Normalization, mean: number, std: number): number {
  const f = Math.fround
  const x = f(v / 255)
  switch (normalization) {
    case 'imagenet':
      return f(f(x - f(mean)) / f(std))
    case 'unit':
      return x
    case 'symmetric':
      return f(x * 2 - 1)
  }
}

/** The image exactly as the model sees it (same orientation, resize and crop), as RGB bytes for overlays. */
export async function loadDisplayImage(
  path: string,
  size: [number, number],
  resize: Preprocess['resize'] = 'stretch'
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  checkSize(size)
  return decodeResized(path, size, resize)
}

async function decodeResized(
  path: string,
  size: [number, number],
  resize: Preprocess['resize']
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const [height, width] = size
  const info = await regularFile(path, 'image')
  if (info.size === 0) throw new ApiError('bad-file', `${basename(path)} is empty (0 bytes).`, path)
  let decoded: { data: Buffer; info: OutputInfo }
  try {
    decoded = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS })
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
  } catch (err) {
    throw new ApiError('bad-file', `${basename(path)} is not a readable image: ${(err as Error).message}`, path)
  }
  const { width: iw, height: ih, channels } = decoded.info
  if (channels !== 3 || decoded.data.length !== iw * ih * 3) {
    throw new ApiError('internal', `Decoding ${basename(path)} gave ${iw}x${ih}x${channels} bytes, expected 3 channels.`, path)
  }
  // The resize is done here rather than by sharp: libvips' linear upsampling sits about 0.2 source
  // pixels off the half-pixel grid PIL and torch use (up to 22 levels apart on the test photos), and
  // the point is to feed the model what its Python preprocessing would.
  const src = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength)
  if (resize === 'stretch') return { rgb: resampleBilinear(src, iw, ih, width, height), width, height }
  const crop = coverCrop(iw, ih, width, height)
  const scaled = resampleBilinear(src, iw, ih, crop.width, crop.height)
  const rgb = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const from = ((y + crop.top) * crop.width + crop.left) * 3
    rgb.set(scaled.subarray(from, from + width * 3), y * width * 3)
  }
  return { rgb, width, height }
}

/**
 * PIL's Image.resize(..., BILINEAR) on 8-bit RGB, which is what torchvision's Resize does to PIL
 * images: a separable triangle filter on half-pixel centres, widened by the scale when shrinking
 * (antialiasing), with PIL's 22-bit fixed-point weights and a rounded 8-bit horizontal pass before
 * the vertical one, so the bytes match PIL's, not just come close.
 */
export function resampleBilinear(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const horizontal = sw === dw ? src : pass(src, sw, sh, dw, true)
  return sh === dh ? horizontal.slice() : pass(horizontal, dw, sh, dh, false)
}

const PRECISION_BITS = 32 - 8 - 2
const ONE = 2 ** PRECISION_BITS

/** One direction of the resample: along rows (horizontal) or columns, from w x h to the new length. */
function pass(src: Uint8Array, w: number, h: number, outLen: number, horizontal: boolean): Uint8Array {
  const inLen = horizontal ? w : h
  const { bounds, weights, kmax } = coefficients(inLen, outLen)
  const outW = horizontal ? outLen : w
  const outH = horizontal ? h : outLen
  const out = new Uint8Array(outW * outH * 3)
  // Stride between neighbouring taps, in bytes.
  const step = horizontal ? 3 : w * 3
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y
      const first = bounds[o * 2]
      const n = bounds[o * 2 + 1]
      const base = horizontal ? (y * w + first) * 3 : (first * w + x) * 3
      for (let c = 0; c < 3; c++) {
        let ss = ONE / 2
        for (let k = 0; k < n; k++) ss += src[base + k * step + c] * weights[o * kmax + k]
        const v = Math.floor(ss / ONE)
        out[(y * outW + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v
      }
    }
  }
  return out
}

/** PIL's precompute_coeffs for the bilinear filter (support 1), with its 8-bit fixed-point rounding. */
function coefficients(inLen: number, outLen: number): { bounds: Int32Array; weights: Float64Array; kmax: number } {
  const scale = inLen / outLen
  const filterScale = Math.max(scale, 1)
  const support = filterScale
  const kmax = Math.ceil(support) * 2 + 1
  const bounds = new Int32Array(outLen * 2)
  const weights = new Float64Array(outLen * kmax)
  const k = new Float64Array(kmax)
  // Multiplying by the reciprocal (not dividing) as PIL does keeps the last bit of each weight the same.
  const inv = 1 / filterScale
  for (let o = 0; o < outLen; o++) {
    const center = (o + 0.5) * scale
    // C's (int) truncates toward zero; both ends are clamped to the image.
    const min = Math.max(Math.trunc(center - support + 0.5), 0)
    const count = Math.min(Math.trunc(center + support + 0.5), inLen) - min
    let total = 0
    for (let i = 0; i < count; i++) {
      const t = Math.abs((i + min - center + 0.5) * inv)
      k[i] = t < 1 ? 1 - t : 0
      total += k[i]
    }
    for (let i = 0; i < count; i++) {
      const wgt = total !== 0 ? k[i] / total : 0
      weights[o * kmax + i] = Math.trunc(wgt * ONE + (wgt < 0 ? -0.5 : 0.5))
    }
    bounds[o * 2] = min
    bounds[o * 2 + 1] = count
  }
  return { bounds, weights, kmax }
}

/**
 * The intermediate size and crop offset of torchvision's Resize + CenterCrop, generalised to a
 * non-square target by scaling so both sides cover it. Sizes truncate (int()) and the offset rounds
 * half to even (Python's round()), as torchvision does, so crops land on the same pixels.
 */
export function coverCrop(
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number
): { width: number; height: number; left: number; top: number } {
  let rw: number
  let rh: number
  if (height * srcWidth >= width * srcHeight) {
    rh = height
    rw = Math.max(width, Math.floor((height * srcWidth) / srcHeight))
  } else {
    rw = width
    rh = Math.max(height, Math.floor((width * srcHeight) / srcWidth))
  }
  return { width: rw, height: rh, left: roundHalfEven((rw - width) / 2), top: roundHalfEven((rh - height) / 2) }
}

function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}
