import sharp from 'sharp'

/**
 * A segmentation model's predicted mask as an RGBA PNG data URL at the output's resolution: one colour
 * per class (PASCAL VOC's palette: the bits of the class index spread over R, G and B), class 0 (the
 * background in most segmentation data sets) transparent, so the UI lays it over the picture as it is.
 */
export async function maskPng(mask: { data: Uint8Array; h: number; w: number }): Promise<string> {
  const rgba = Buffer.alloc(mask.h * mask.w * 4)
  for (let p = 0; p < mask.data.length; p++) {
    const c = mask.data[p]
    if (c === 0) continue
    const [r, g, b] = vocColour(c)
    rgba.set([r, g, b, 255], p * 4)
  }
  const png = await sharp(rgba, { raw: { width: mask.w, height: mask.h, channels: 4 } }).png().toBuffer()
  return `data:image/png;base64,${png.toString('base64')}`
}

/** PASCAL VOC's colour for a class index. */
export function vocColour(index: number): [number, number, number] {
  let r = 0
  let g = 0
  let b = 0
  let c = index
  for (let j = 7; j >= 0 && c; j--, c >>= 3) {
    r |= (c & 1) << j
    g |= ((c >> 1) & 1) << j
    b |= ((c >> 2) & 1) << j
  }
  return [r, g, b]
}
