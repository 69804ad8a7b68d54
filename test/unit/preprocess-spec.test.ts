import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { inferPreprocess } from '../../src/main/engine/data/preprocess-spec'

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
