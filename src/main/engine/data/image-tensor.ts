import type { Normalization } from '../../../shared/preprocess'
import { loadDisplayImage } from './decode-image'
import type { Preprocess } from './preprocess-spec'

const IMAGENET_MEAN = [0.485, 0.456, 0.406]
const IMAGENET_STD = [0.229, 0.224, 0.225]
/** For greyscale models the usual convention (timm's) is the mean of the RGB statistics. */
const IMAGENET_GREY_MEAN = 0.449
const IMAGENET_GREY_STD = 0.226

/** Decodes, orients, flattens and resizes one image for a model: [C*H*W] floats in the model's layout. */
export async function loadImageTensor(
  path: string,
  pre: Preprocess
): Promise<{ data: Float32Array; width: number; height: number }> {
  const [height, width] = pre.size
  const { rgb } = await loadDisplayImage(path, pre.size, pre.resize)
  return { data: imageTensor(rgb, pre), width, height }
}

/**
 * One decoded image (RGB bytes already at `pre.size`, as loadDisplayImage gives them) as the model's
 * [C*H*W] floats: channels, order, normalisation and layout. Apart from the decoding, so one decode
 * can feed several normalisations (models.suggestPreprocess).
 */
export function imageTensor(rgb: Uint8Array | Buffer, pre: Preprocess): Float32Array {
  const [height, width] = pre.size
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
    return data
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
  return data
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
    case 'raw':
      // The model scales the byte itself (a Rescaling layer at its input).
      return v
  }
}
