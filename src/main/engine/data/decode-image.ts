import { basename } from 'node:path'
import sharp, { type OutputInfo } from 'sharp'
// Installs the raster-only decoder rule (no SVG, PDF, ...) for every image this module reads.
import './raster'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import { MAX_IMAGE_PIXELS } from './images'
import { regularFile } from '../files/read'
import { checkSize, type Preprocess } from './preprocess-spec'
import { coverCrop, resampleBilinear } from './resample'

/**
 * The image exactly as the model sees it (same orientation, resize and crop), as RGB bytes: for
 * overlays, and what loadImageTensor turns into the model's floats.
 */
export async function loadDisplayImage(
  path: string,
  size: [number, number],
  resize: Preprocess['resize'] = 'stretch'
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  checkSize(size)
  const [height, width] = size
  const info = await regularFile(path, 'image')
  if (info.size === 0) throw new ApiError('bad-file', `${basename(path)} is empty (0 bytes).`, path, fileDetails('image', path, 'empty'))
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
    throw new ApiError('bad-file', `${basename(path)} is not a readable image: ${(err as Error).message}`, path, fileDetails('image', path, 'unreadable', { reason: (err as Error).message }))
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
