import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { loadDisplayImage } from '../../src/main/engine/data/decode-image'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import type { Preprocess } from '../../src/main/engine/data/preprocess-spec'
import { fixture, rejection, tempDir } from '../helpers'

const dir = tempDir()

/** A PNG of one colour (or RGBA with alpha) made with sharp. */
async function solid(name: string, width: number, height: number, colour: { r: number; g: number; b: number; alpha?: number }) {
  const path = join(dir, name)
  const channels = colour.alpha === undefined ? 3 : 4
  await sharp({ create: { width, height, channels, background: colour } }).png().toFile(path)
  return path
}

const pre = (p: Partial<Preprocess>): Preprocess => ({ size: [4, 6], layout: 'NCHW', normalization: 'imagenet', resize: 'stretch', ...p })

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
