import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { applyColormap, colormap, COLORMAP_NAMES, type ColormapName } from '../../src/main/engine/cam/colormap'

const entry = (name: ColormapName, i: number) => [...colormap(name).subarray(i * 3, i * 3 + 3)]
const near = (got: number[], want: number[], tol = 1) => got.every((v, i) => Math.abs(v - want[i]) <= tol)

describe('colormap', () => {
  it('has 256 RGB entries for every map', () => {
    for (const name of COLORMAP_NAMES) expect(colormap(name).length, name).toBe(768)
  })

  it('jet runs dark blue, cyan, yellow, dark red like OpenCV COLORMAP_JET', () => {
    expect(entry('jet', 0)).toEqual([0, 0, 128])
    expect(entry('jet', 255)).toEqual([128, 0, 0])
    expect(entry('jet', 64)).toEqual([0, 129, 255]) // blue to cyan ramp
    expect(entry('jet', 128)).toEqual([130, 255, 126]) // green in the middle
    expect(entry('jet', 192)).toEqual([255, 125, 0]) // orange
  })

  it('viridis, inferno and turbo match the published tables at their ends and middle', () => {
    // Values from matplotlib's _viridis_data / _inferno_data / _turbo_data * 255.
    expect(near(entry('viridis', 0), [68, 1, 84])).toBe(true)
    expect(near(entry('viridis', 128), [33, 145, 140])).toBe(true)
    expect(near(entry('viridis', 255), [253, 231, 37])).toBe(true)
    expect(near(entry('inferno', 0), [0, 0, 4])).toBe(true)
    expect(near(entry('inferno', 128), [188, 55, 84])).toBe(true)
    expect(near(entry('inferno', 255), [252, 255, 164])).toBe(true)
    expect(near(entry('turbo', 0), [48, 18, 59])).toBe(true)
    expect(near(entry('turbo', 128), [164, 252, 60])).toBe(true)
    expect(near(entry('turbo', 255), [122, 4, 3])).toBe(true)
  })

  it('has no jumps (each step changes a channel by a few levels at most)', () => {
    for (const name of COLORMAP_NAMES) {
      const lut = colormap(name)
      for (let i = 3; i < lut.length; i++) expect(Math.abs(lut[i] - lut[i - 3]), `${name} ${i}`).toBeLessThanOrEqual(8)
    }
  })

  it('returns a copy callers cannot damage the shared table through', () => {
    colormap('jet').fill(0)
    expect(entry('jet', 0)).toEqual([0, 0, 128])
  })

  it('refuses an unknown name', () => {
    expect(() => colormap('rainbow' as ColormapName)).toThrow(ApiError)
  })
})

describe('applyColormap', () => {
  it('maps values through the table, clamps and treats NaN as 0', () => {
    const lut = colormap('viridis')
    const out = applyColormap(Float32Array.of(0, 1, 0.5, -3, 7, NaN), 'viridis')
    expect(out.length).toBe(18)
    const at = (k: number) => [...out.subarray(k * 3, k * 3 + 3)]
    const lutAt = (i: number) => [...lut.subarray(i * 3, i * 3 + 3)]
    expect(at(0)).toEqual(lutAt(0))
    expect(at(1)).toEqual(lutAt(255))
    expect(at(2)).toEqual(lutAt(127)) // floor(127.5), as np.uint8(255 * mask) truncates
    expect(at(3)).toEqual(lutAt(0))
    expect(at(4)).toEqual(lutAt(255))
    expect(at(5)).toEqual(lutAt(0))
  })

  it('steps to the next entry exactly at n / 255, as np.uint8(255 * mask) does', () => {
    const lut = colormap('jet')
    const below = Math.fround(1 / 255) - 2 ** -32 // a float32 just under 1/255
    const out = applyColormap(Float32Array.of(below, 1 / 255, 0.999999), 'jet')
    expect([...out.subarray(0, 3)]).toEqual([...lut.subarray(0, 3)])
    expect([...out.subarray(3, 6)]).toEqual([...lut.subarray(3, 6)])
    expect([...out.subarray(6, 9)]).toEqual([...lut.subarray(254 * 3, 255 * 3)])
  })
})
