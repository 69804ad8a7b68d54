import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { applyColormap } from '../../src/main/engine/cam/colormap'
import { encodePng, heatmapPng, overlay } from '../../src/main/engine/cam/overlay'

const W = 4
const H = 3
const image = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 256)
const heat = Float32Array.from({ length: W * H }, (_, i) => i / (W * H - 1))

describe('overlay', () => {
  it('alpha 0 returns the image, alpha 1 the coloured heatmap', () => {
    expect(overlay(image, heat, W, H, { colormap: 'jet', alpha: 0 })).toEqual(image)
    expect(overlay(image, heat, W, H, { colormap: 'turbo', alpha: 1 })).toEqual(applyColormap(heat, 'turbo'))
  })

  it('blends half and half by default, rounded', () => {
    const colour = applyColormap(heat, 'inferno')
    const out = overlay(image, heat, W, H, { colormap: 'inferno' })
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe(Math.round(0.5 * image[i] + 0.5 * colour[i]))
    const third = overlay(image, heat, W, H, { colormap: 'inferno', alpha: 0.3 })
    for (let i = 0; i < out.length; i++) expect(third[i]).toBe(Math.round(0.7 * image[i] + 0.3 * colour[i]))
  })

  it('refuses mismatched sizes and an alpha outside 0..1', () => {
    expect(() => overlay(image, new Float32Array(5), W, H, { colormap: 'jet' })).toThrow(/heatmap has 5 values/)
    expect(() => overlay(image.subarray(3), heat, W, H, { colormap: 'jet' })).toThrow(ApiError)
    expect(() => overlay(image, heat, W, H, { colormap: 'jet', alpha: 1.5 })).toThrow(/between 0 and 1/)
    expect(() => overlay(image, heat, W, H, { colormap: 'jet', alpha: NaN })).toThrow(/between 0 and 1/)
  })
})

describe('encodePng', () => {
  it('writes a PNG that decodes back to the same pixels', async () => {
    // A view into a larger buffer, to check the offset is respected.
    const backing = new Uint8Array(image.length + 5)
    backing.set(image, 5)
    const png = await encodePng(backing.subarray(5), W, H)
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
    expect(info).toMatchObject({ width: W, height: H, channels: 3 })
    expect(new Uint8Array(data)).toEqual(image)
  })

  it('heatmapPng encodes the coloured map alone', async () => {
    const png = await heatmapPng(heat, W, H, 'viridis')
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
    expect(info).toMatchObject({ width: W, height: H, channels: 3 })
    expect(new Uint8Array(data)).toEqual(applyColormap(heat, 'viridis'))
  })

  it('refuses a buffer of the wrong length', async () => {
    await expect(encodePng(new Uint8Array(10), W, H)).rejects.toThrow(ApiError)
  })
})
