import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import {
  coverCrop,
  inferPreprocess,
  loadDisplayImage,
  loadImageTensor,
  type Preprocess
} from '../../src/main/engine/data/preprocess'
import { fixture, rejection, tempDir } from '../helpers'
import { maxOf } from '../../src/shared/stats'

const dir = tempDir()

/** A PNG of one colour (or RGBA with alpha) made with sharp. */
async function solid(name: string, width: number, height: number, colour: { r: number; g: number; b: number; alpha?: number }) {
  const path = join(dir, name)
  const channels = colour.alpha === undefined ? 3 : 4
  await sharp({ create: { width, height, channels, background: colour } }).png().toFile(path)
  return path
}

const pre = (p: Partial<Preprocess>): Preprocess => ({ size: [4, 6], layout: 'NCHW', normalization: 'imagenet', resize: 'stretch', ...p })

describe('inferPreprocess', () => {
  it('reads NCHW and NHWC image inputs', () => {
    expect(inferPreprocess(['batch', 3, 224, 224])).toEqual({
      size: [224, 224],
      layout: 'NCHW',
      normalization: 'imagenet',
      resize: 'stretch',
      channels: 3
    })
    expect(inferPreprocess([1, 160, 128, 3])).toMatchObject({ size: [160, 128], layout: 'NHWC', channels: 3 })
    expect(inferPreprocess([null, 1, 28, 28])).toMatchObject({ size: [28, 28], layout: 'NCHW', channels: 1 })
  })

  it('defaults symbolic or unknown spatial sizes to 224', () => {
    expect(inferPreprocess(['N', 3, 'H', 'W']).size).toEqual([224, 224])
    expect(inferPreprocess([null, null, 299, 3]).size).toEqual([224, 299])
    expect(inferPreprocess([1, -1, -1, 3]).size).toEqual([224, 224])
  })

  it('applies overrides', () => {
    expect(inferPreprocess(['b', 3, 'h', 'w'], { size: [96, 128], normalization: 'symmetric', resize: 'center-crop' })).toEqual({
      size: [96, 128],
      layout: 'NCHW',
      normalization: 'symmetric',
      resize: 'center-crop',
      channels: 3
    })
    // [1, 3, 3, 3] is ambiguous; the override decides.
    expect(inferPreprocess([1, 3, 3, 3], { layout: 'NHWC' }).layout).toBe('NHWC')
  })

  it('refuses inputs that are not 4-D images with 1 or 3 channels', () => {
    for (const shape of [[1, 1000], ['batch', 5, 224, 224], [1, 224, 224, 4], [1, 'c', 224, 224], [1, 3, 224, 224, 1]]) {
      expect(() => inferPreprocess(shape), JSON.stringify(shape)).toThrow(ApiError)
      try {
        inferPreprocess(shape)
      } catch (err) {
        expect((err as ApiError).code).toBe('unsupported')
      }
    }
    expect(() => inferPreprocess([1, 3, 224, 224], { size: [0, 10] })).toThrow(/positive whole numbers/)
  })
})

describe('coverCrop', () => {
  it('matches torchvision Resize(n) + CenterCrop(n) sizes and offsets', () => {
    // 96x64 -> Resize(10) gives 15x10, CenterCrop(10) starts at round(2.5) = 2 (half to even).
    expect(coverCrop(96, 64, 10, 10)).toEqual({ width: 15, height: 10, left: 2, top: 0 })
    expect(coverCrop(64, 96, 224, 224)).toEqual({ width: 224, height: 336, left: 0, top: 56 })
    expect(coverCrop(100, 100, 20, 10)).toEqual({ width: 20, height: 20, left: 0, top: 5 })
  })
})

describe('loadImageTensor', () => {
  it('gives one image in the model layout and size', async () => {
    const path = fixture('images', 'animals', 'chelsea.png') // 96x64
    const nchw = await loadImageTensor(path, pre({ size: [32, 40], layout: 'NCHW' }))
    const nhwc = await loadImageTensor(path, pre({ size: [32, 40], layout: 'NHWC' }))
    expect(nchw.width).toBe(40)
    expect(nchw.height).toBe(32)
    expect(nchw.data.length).toBe(3 * 32 * 40)
    expect(nhwc.data.length).toBe(3 * 32 * 40)
    // Same pixels, different order: NHWC (y, x, c) is NCHW (c, y, x).
    for (const [y, x, c] of [[0, 0, 0], [31, 39, 2], [10, 17, 1]]) {
      expect(nhwc.data[(y * 40 + x) * 3 + c]).toBe(nchw.data[c * 32 * 40 + y * 40 + x])
    }
  })

  it('normalises a solid colour exactly (imagenet, unit, symmetric)', async () => {
    const path = await solid('orange.png', 7, 5, { r: 255, g: 128, b: 0 })
    const rgb = [255, 128, 0]
    // torchvision: Normalize(mean, std)(ToTensor()(img)) for this colour, printed from torch 1.13;
    // float32 step by step, so these are exact, not approximate.
    const imagenetValues = [2.248908281326294, 0.20518219470977783, -1.804444432258606]
    // x * 2 - 1 (and Normalize(0.5, 0.5)) in float32: not the double 1/255 for 128.
    const symmetricValues = [1, 0.003921627998352051, -1]
    const imagenet = await loadImageTensor(path, pre({ size: [3, 2] }))
    const unit = await loadImageTensor(path, pre({ size: [3, 2], normalization: 'unit' }))
    const symmetric = await loadImageTensor(path, pre({ size: [3, 2], normalization: 'symmetric', layout: 'NHWC' }))
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 6; p++) {
        expect(imagenet.data[c * 6 + p]).toBe(imagenetValues[c])
        expect(unit.data[c * 6 + p]).toBe(Math.fround(rgb[c] / 255))
        expect(symmetric.data[p * 3 + c]).toBe(symmetricValues[c])
      }
    }
  })

  it('feeds 1-channel models PIL-style greyscale', async () => {
    const path = await solid('grey-source.png', 4, 4, { r: 200, g: 100, b: 50 })
    const t = await loadImageTensor(path, { ...pre({ size: [2, 2], normalization: 'unit' }), channels: 1 })
    expect(t.data.length).toBe(4)
    // PIL: (200*19595 + 100*38470 + 50*7471 + 32768) >> 16 = 124
    for (const v of t.data) expect(v).toBe(Math.fround(124 / 255))
  })

  it('flattens transparency onto white', async () => {
    const path = await solid('clear.png', 3, 3, { r: 0, g: 0, b: 0, alpha: 0 })
    const t = await loadImageTensor(path, pre({ size: [3, 3], normalization: 'unit' }))
    expect([...t.data].every((v) => v === 1)).toBe(true)
  })

  it('reads greyscale files as RGB', async () => {
    const path = join(dir, 'grey.png')
    await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(path)
    const t = await loadDisplayImage(path, [2, 2])
    expect([...t.rgb]).toEqual(new Array(12).fill(77))
  })

  it('gives clear errors for empty, undecodable, missing files and folders', async () => {
    const empty = join(dir, 'empty.png')
    writeFileSync(empty, '')
    const text = join(dir, 'notes.png')
    writeFileSync(text, 'this is a text file, not a PNG\n')
    const p = pre({})
    let e = await rejection(loadImageTensor(empty, p))
    expect(e).toMatchObject({ code: 'bad-file', file: empty, message: 'empty.png is empty (0 bytes).' })
    e = await rejection(loadImageTensor(text, p))
    expect(e.code).toBe('bad-file')
    expect(e.file).toBe(text)
    expect(e.message).toMatch(/^notes\.png is not a readable image: /)
    e = await rejection(loadImageTensor(join(dir, 'missing.jpg'), p))
    expect(e.code).toBe('not-found')
    expect(e.message).toContain('missing.jpg')
    e = await rejection(loadDisplayImage(dir, [2, 2]))
    expect(e.code).toBe('bad-file')
    expect(e.message).toContain('is a folder')
  })
})

describe('loadDisplayImage', () => {
  // Reference bytes from Pillow 9.4: Image.open(f).convert('RGB').resize((3, 5), Image.BILINEAR).
  it('resizes exactly as PIL BILINEAR does (what torchvision Resize does to PIL images)', async () => {
    const img = await loadDisplayImage(fixture('images', 'animals', 'chelsea.png'), [5, 3])
    expect(img.width).toBe(3)
    expect(img.height).toBe(5)
    expect([...img.rgb]).toEqual([
      149, 112, 87, 135, 98, 70, 133, 98, 80, 145, 108, 79, 144, 106, 74, 144, 114, 95, 144, 103, 72, 143, 102, 66, 146, 115, 94,
      154, 112, 85, 152, 103, 64, 153, 123, 105, 164, 128, 107, 149, 109, 85, 157, 130, 114
    ])
    // Upsampling too: .resize((150, 100)) row 40, columns 60..63.
    const up = await loadDisplayImage(fixture('images', 'animals', 'chelsea.png'), [100, 150])
    expect([...up.rgb.subarray((40 * 150 + 60) * 3, (40 * 150 + 64) * 3)]).toEqual([57, 50, 25, 82, 67, 33, 100, 79, 38, 114, 89, 41])
  })

  it('center-crops like torchvision Resize + CenterCrop', async () => {
    // Pillow: .resize((15, 10), BILINEAR) then columns 2..11; row 4, first four pixels.
    const img = await loadDisplayImage(fixture('images', 'animals', 'chelsea.png'), [10, 10], 'center-crop')
    expect([...img.rgb.subarray(4 * 30, 4 * 30 + 12)]).toEqual([171, 130, 103, 153, 108, 73, 143, 102, 64, 113, 87, 45])
  })

  it('keeps the middle of a wide image and drops the sides', async () => {
    const path = join(dir, 'stripes.png')
    const raw = Buffer.alloc(30 * 10 * 3)
    for (let y = 0; y < 10; y++) for (let x = 0; x < 30; x++) raw[(y * 30 + x) * 3 + Math.floor(x / 10)] = 255
    await sharp(raw, { raw: { width: 30, height: 10, channels: 3 } }).png().toFile(path)
    const crop = await loadDisplayImage(path, [10, 10], 'center-crop')
    for (let p = 0; p < 100; p++) expect([...crop.rgb.subarray(p * 3, p * 3 + 3)]).toEqual([0, 255, 0])
    // Stretching keeps all three stripes (blurred together a little by the antialiasing filter).
    const stretch = await loadDisplayImage(path, [10, 3])
    for (let x = 0; x < 3; x++) {
      const px = [...stretch.rgb.subarray(x * 3, x * 3 + 3)]
      expect(px.indexOf(maxOf(px))).toBe(x)
    }
  })

  it('respects EXIF orientation', async () => {
    // Stored 20x10, left half red, right half blue; orientation 6 means "rotate 90 degrees clockwise
    // to display", so it shows 10 wide by 20 high with red on top.
    const raw = Buffer.alloc(20 * 10 * 3)
    for (let y = 0; y < 10; y++) for (let x = 0; x < 20; x++) raw[(y * 20 + x) * 3 + (x < 10 ? 0 : 2)] = 255
    const path = join(dir, 'rotated.jpg')
    await sharp(raw, { raw: { width: 20, height: 10, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(path)
    const img = await loadDisplayImage(path, [2, 1])
    const [top, bottom] = [img.rgb.subarray(0, 3), img.rgb.subarray(3, 6)]
    expect(top[0]).toBeGreaterThan(200)
    expect(top[2]).toBeLessThan(50)
    expect(bottom[2]).toBeGreaterThan(200)
    expect(bottom[0]).toBeLessThan(50)
    // Center-crop sizes from the displayed shape: a 10x20 portrait cropped to 10x10 keeps the seam.
    const crop = await loadDisplayImage(path, [2, 2], 'center-crop')
    expect(crop.rgb[0]).toBeGreaterThan(100) // top row mostly red
    expect(crop.rgb[2 * 2 * 3 - 1]).toBeGreaterThan(100) // bottom row mostly blue
  })
})
