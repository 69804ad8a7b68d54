import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { loadDisplayImage } from '../../src/main/engine/data/decode-image'
import { fixture, tempDir } from '../helpers'
import { maxOf } from '../../src/shared/stats'

const dir = tempDir()

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
