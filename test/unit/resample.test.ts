import { describe, expect, it } from 'vitest'
import { coverCrop } from '../../src/main/engine/data/resample'

describe('coverCrop', () => {
  it('matches torchvision Resize(n) + CenterCrop(n) sizes and offsets', () => {
    // 96x64 -> Resize(10) gives 15x10, CenterCrop(10) starts at round(2.5) = 2 (half to even).
    expect(coverCrop(96, 64, 10, 10)).toEqual({ width: 15, height: 10, left: 2, top: 0 })
    expect(coverCrop(64, 96, 224, 224)).toEqual({ width: 224, height: 336, left: 0, top: 56 })
    expect(coverCrop(100, 100, 20, 10)).toEqual({ width: 20, height: 20, left: 0, top: 5 })
  })
})
