import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { resizeBilinear } from '../../src/main/engine/cam/resize'

describe('resizeBilinear', () => {
  it('upsamples 2x2 to 4x4 as torch interpolate(bilinear, align_corners=False) does', () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1], [2, 3]]]]), size=(4, 4), mode='bilinear')
    const out = resizeBilinear(Float32Array.of(0, 1, 2, 3), 2, 2, 4, 4)
    expect([...out]).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
  })

  it('downsamples without antialiasing (2x2 blocks average at the centres)', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => i)
    // source coordinate (d + 0.5) * 2 - 0.5 = 0.5, 2.5: the mean of each 2x2 block.
    expect([...resizeBilinear(src, 4, 4, 2, 2)]).toEqual([2.5, 4.5, 10.5, 12.5])
  })

  it('handles non-square maps and each axis separately', () => {
    // 1x3 row to 1x6: source x = (d + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25, 1.75, 2.25 (clamped to 2).
    const row = resizeBilinear(Float32Array.of(0, 10, 20), 1, 3, 1, 6)
    expect([...row]).toEqual([0, 2.5, 7.5, 12.5, 17.5, 20])
    const col = resizeBilinear(Float32Array.of(0, 10, 20), 3, 1, 6, 2)
    expect([...col]).toEqual([0, 0, 2.5, 2.5, 7.5, 7.5, 12.5, 12.5, 17.5, 17.5, 20, 20])
  })

  it('is the identity at the same size and copies a 1x1 map everywhere', () => {
    const src = Float32Array.of(1, -2, 3.5, 4, 5, 6)
    expect(resizeBilinear(src, 2, 3, 2, 3)).toEqual(src)
    expect([...resizeBilinear(Float32Array.of(7), 1, 1, 3, 2)]).toEqual([7, 7, 7, 7, 7, 7])
  })

  it('refuses a map whose length does not match its size', () => {
    expect(() => resizeBilinear(new Float32Array(5), 2, 3, 4, 4)).toThrow(ApiError)
    expect(() => resizeBilinear(new Float32Array(4), 2, 2, 0, 4)).toThrow(/positive whole number/)
  })
})
