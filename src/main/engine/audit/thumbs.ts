import sharp from 'sharp'
import type { WorstCase } from '../../../shared/audit'
import { applyColormap } from '../../../shared/colormap'
import { overlay } from '../cam/overlay'
import { loadDisplayImage } from '../data/decode-image'
import type { Preprocess } from '../data/preprocess-spec'
import { decodeSmall, SMALL } from './where-it-looks'

/** Longest side of report thumbnails: larger model inputs are shrunk; small ones stay as they are (the report enlarges them with pixelated rendering). */
const THUMB = 112

async function pngDataUrl(rgb: Uint8Array, width: number, height: number): Promise<string> {
  const scale = Math.min(1, THUMB / Math.max(width, height))
  const w = Math.max(1, Math.round(width * scale))
  const h = Math.max(1, Math.round(height * scale))
  let img = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } })
  if (scale < 1) img = img.resize(w, h, { kernel: 'lanczos3' })
  const png = await img.png({ compressionLevel: 9 }).toBuffer()
  return `data:image/png;base64,${png.toString('base64')}`
}

/** The image as the model sees it and its overlays (jet, alpha 0.5) for each method's map. */
export async function worstThumbs(file: string, pre: Preprocess, maps: Record<string, Float32Array>): Promise<Pick<WorstCase, 'image' | 'overlays'>> {
  const { rgb, width, height } = await loadDisplayImage(file, pre.size, pre.resize)
  const overlays: Record<string, string> = {}
  for (const [method, map] of Object.entries(maps)) overlays[method] = await pngDataUrl(overlay(rgb, map, width, height, { colormap: 'jet', alpha: 0.5 }), width, height)
  return { image: await pngDataUrl(rgb, width, height), overlays }
}

/** A values-in-[0, 1] grid (a 16 x 16 mean map or centroid) as a coloured PNG data URL. */
export async function gridDataUrl(values: ArrayLike<number>, side = SMALL): Promise<string> {
  return pngDataUrl(applyColormap(Float32Array.from(values as ArrayLike<number>), 'jet'), side, side)
}

export const smallDataUrl = (small: string) => gridDataUrl(Array.from(decodeSmall(small), (v) => v / 255))
