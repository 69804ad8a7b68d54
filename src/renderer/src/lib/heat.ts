import type { CamItem } from '../../../shared/api'
import { signedDisplay } from '../../../shared/attribution-scale'
import { colormap, type DisplayColormap } from '../../../shared/colormap'
import { resizeBilinear } from '../../../shared/resize'
import { imageCrossOrigin } from './image-cors'

export type OkItem = Extract<CamItem, { ok: true }>

const images = new Map<string, Promise<HTMLImageElement>>()

/** Loads (once) an image element for a URL; rejects with a readable message. */
export function loadImage(src: string): Promise<HTMLImageElement> {
  let p = images.get(src)
  if (!p) {
    p = new Promise((resolve, reject) => {
      const img = new Image()
      img.decoding = 'async'
      const cors = imageCrossOrigin(src, location.protocol)
      if (cors) img.crossOrigin = cors
      img.onload = () => resolve(img)
      img.onerror = () => reject(new Error(`could not load ${src.slice(0, 80)}`))
      img.src = src
    })
    images.set(src, p)
    // Keep the cache bounded: browsers keep decoded images alive while referenced.
    if (images.size > 600) images.delete(images.keys().next().value as string)
  }
  return p
}

const grey = new Map<string, Promise<Float32Array>>()

/** The item's normalised map as floats in [0, 1] at the model input size (decoded from its PNG once). */
export function mapValues(item: OkItem): Promise<Float32Array> {
  let p = grey.get(item.resultId)
  if (!p) {
    p = loadImage(item.mapPng).then((img) => {
      const c = document.createElement('canvas')
      c.width = item.width
      c.height = item.height
      const ctx = c.getContext('2d')!
      ctx.drawImage(img, 0, 0)
      const data = ctx.getImageData(0, 0, item.width, item.height).data
      const out = new Float32Array(item.width * item.height)
      for (let i = 0; i < out.length; i++) out[i] = data[i * 4] / 255
      return out
    })
    grey.set(item.resultId, p)
    if (grey.size > 2000) grey.delete(grey.keys().next().value as string)
  }
  return p
}

/**
 * On a shared scale every map is divided by one maximum (the largest raw value over the images
 * shown), so a weak map looks weak; per image, each map is stretched to [0, 1] on its own.
 */
export function sharedScaleValues(item: OkItem, sharedMax: number): Float32Array {
  const [h, w] = item.rawShape
  // By magnitude: a CAM's raw map is ReLU'd (|v| = v); a signed pixel attribution is shown by |v| as its overlay is.
  const scaled = Float32Array.from(item.raw, (v) => (sharedMax > 0 ? Math.abs(v) / sharedMax : 0))
  return resizeBilinear(scaled, h, w, item.height, item.width)
}

/**
 * A signed attribution's values for the diverging colour map (0.5 = zero): on a shared scale divided by
 * the largest |value| over the images shown, else by the map's own 98%-mass threshold, as its magnitude
 * overlay is. Pixel maps are at the input's resolution already.
 */
export function signedValues(item: OkItem, sharedMax: number | null): Float32Array {
  return signedDisplay(item.raw, sharedMax ?? undefined)
}

/**
 * Draws the image stretched to the canvas (as the model saw it) and blends the coloured map over
 * it: out = (1 - alpha) * image + alpha * colour(v), the same blend as the exported overlays.
 */
export function compose(
  canvas: HTMLCanvasElement,
  base: HTMLImageElement | null,
  values: Float32Array,
  mapW: number,
  mapH: number,
  cmap: DisplayColormap,
  alpha: number,
  /** Pixel attributions: each map pixel a block, not interpolated (their maps are per input pixel: a blur would invent detail). */
  nearest = false
): void {
  const W = canvas.width
  const H = canvas.height
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!
  ctx.imageSmoothingEnabled = true
  ctx.clearRect(0, 0, W, H)
  if (base) ctx.drawImage(base, 0, 0, W, H)
  else {
    ctx.fillStyle = '#000'
    ctx.fillRect(0, 0, W, H)
  }
  const pixels = ctx.getImageData(0, 0, W, H)
  const d = pixels.data
  const lut = colormap(cmap)
  const v = mapW === W && mapH === H ? values : nearest ? resizeNearest(values, mapH, mapW, H, W) : resizeBilinear(values, mapH, mapW, H, W)
  for (let p = 0; p < W * H; p++) {
    const x = v[p]
    const k = Math.min(255, Math.max(0, Math.floor((x > 0 ? x : 0) * 255))) * 3
    d[p * 4] = Math.round((1 - alpha) * d[p * 4] + alpha * lut[k])
    d[p * 4 + 1] = Math.round((1 - alpha) * d[p * 4 + 1] + alpha * lut[k + 1])
    d[p * 4 + 2] = Math.round((1 - alpha) * d[p * 4 + 2] + alpha * lut[k + 2])
    d[p * 4 + 3] = 255
  }
  ctx.putImageData(pixels, 0, 0)
}

function resizeNearest(src: Float32Array, sh: number, sw: number, dh: number, dw: number): Float32Array {
  const out = new Float32Array(dh * dw)
  for (let y = 0; y < dh; y++) {
    const row = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / dh)) * sw
    for (let x = 0; x < dw; x++) out[y * dw + x] = src[row + Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / dw))]
  }
  return out
}

/** Canvas size for a map: at least 192 px on the long side so small inputs (28x28) are not postage stamps. */
export function canvasSize(item: OkItem, min = 192): [number, number] {
  const scale = Math.max(1, Math.ceil(min / Math.max(item.width, item.height)))
  return [item.width * scale, item.height * scale]
}
