import { describe, expect, it } from 'vitest'
import { minMaxNormalize } from '../../src/main/engine/cam/normalize'

describe('minMaxNormalize', () => {
  it('maps min to 0 and max to (almost) 1, as pytorch-grad-cam scale_cam_image does', () => {
    const out = minMaxNormalize(Float32Array.of(-2, 0, 2, 6))
    expect(out[0]).toBe(0)
    expect(out[1]).toBeCloseTo(0.25, 6)
    expect(out[2]).toBeCloseTo(0.5, 6)
    expect(out[3]).toBe(Math.fround(8 / (8 + 1e-7)))
    expect(out[3]).toBeLessThanOrEqual(1)
  })

  it('uses eps so a constant map becomes zeros, not NaN', () => {
    expect([...minMaxNormalize(Float32Array.of(3, 3, 3))]).toEqual([0, 0, 0])
    // A large eps visibly scales the result down.
    expect(minMaxNormalize(Float32Array.of(0, 1), 1)[1]).toBe(0.5)
  })

  it('leaves NaN out of min and max', () => {
    const out = minMaxNormalize(Float32Array.of(NaN, 1, 3))
    expect(out[0]).toBeNaN()
    expect(out[1]).toBe(0)
    expect(out[2]).toBeCloseTo(1, 6)
  })

  it('handles an empty map', () => {
    expect(minMaxNormalize(new Float32Array(0)).length).toBe(0)
  })
})
