import sharp from 'sharp'
import { ApiError } from '../../../shared/errors'
import { applyColormap, type ColormapName } from './colormap'

export interface OverlayOptions {
  colormap: ColormapName
  /** Weight of the heatmap colour: 0 shows only the image, 1 only the heatmap. Default 0.5. */
  alpha?: number
}

function checkPixels(what: string, length: number, perPixel: number, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ApiError('invalid-arguments', `The image size ${width}x${height} must be two positive whole numbers.`)
  }
  if (length !== width * height * perPixel) {
    throw new ApiError(
      'invalid-arguments',
      `The ${what} has ${length} values but a ${width}x${height} image needs ${width * height * perPixel}.`
    )
  }
}

/** Blends the coloured heatmap over an RGB image: out = (1 - alpha) * image + alpha * colour, rounded. */
export function overlay(rgb: Uint8Array, heat: Float32Array, width: number, height: number, opts: OverlayOptions): Uint8Array {
  checkPixels('image', rgb.length, 3, width, height)
  checkPixels('heatmap', heat.length, 1, width, height)
  const alpha = opts.alpha ?? 0.5
  if (!(alpha >= 0 && alpha <= 1)) throw new ApiError('out-of-range', `The overlay alpha must be between 0 and 1, not ${alpha}.`)
  const colour = applyColormap(heat, opts.colormap)
  const out = new Uint8Array(rgb.length)
  for (let i = 0; i < rgb.length; i++) out[i] = Math.round((1 - alpha) * rgb[i] + alpha * colour[i])
  return out
}

/** Encodes packed 8-bit RGB (row-major, no padding) as a PNG. */
export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  checkPixels('image', rgb.length, 3, width, height)
  const input = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength)
  return sharp(input, { raw: { width, height, channels: 3 } }).png().toBuffer()
}

/** The coloured heatmap alone, as a PNG. */
export async function heatmapPng(heat: Float32Array, width: number, height: number, colormap: ColormapName): Promise<Buffer> {
  checkPixels('heatmap', heat.length, 1, width, height)
  return encodePng(applyColormap(heat, colormap), width, height)
}
