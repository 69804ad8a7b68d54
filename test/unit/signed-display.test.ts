import { describe, expect, it } from 'vitest'
import { outlierThreshold, signedDisplay } from '../../src/shared/attribution-scale'
import { applyColormap, colormap, DIVERGING_COLORMAP } from '../../src/shared/colormap'

describe('the diverging colour map for signed attributions', () => {
  it("is ColorBrewer's RdBu reversed (matplotlib's RdBu_r): dark blue, white in the middle, dark red", () => {
    const lut = colormap(DIVERGING_COLORMAP)
    const rgb = (i: number) => Array.from(lut.subarray(i * 3, i * 3 + 3))
    expect(rgb(0)).toEqual([0x05, 0x30, 0x61])
    expect(rgb(255)).toEqual([0x67, 0x00, 0x1f])
    // 0.5 lies half-way between entries 127 and 128, both within a level or two of the white stop f7f7f7.
    for (const c of [...rgb(127), ...rgb(128)]) expect(Math.abs(c - 0xf7)).toBeLessThanOrEqual(3)
    // Below the middle blue dominates, above it red.
    const [r1, , b1] = rgb(60)
    const [r2, , b2] = rgb(200)
    expect(b1).toBeGreaterThan(r1)
    expect(r2).toBeGreaterThan(b2)
  })

  it('colours values through the same lookup as the other maps', () => {
    const out = applyColormap(Float32Array.from([0, 0.5, 1]), DIVERGING_COLORMAP)
    expect(Array.from(out.subarray(0, 3))).toEqual([0x05, 0x30, 0x61])
    expect(Array.from(out.subarray(6, 9))).toEqual([0x67, 0x00, 0x1f])
  })
})

describe('signed display scaling', () => {
  it("the threshold is where 98% of the total |value| is reached (Captum's outlier clipping)", () => {
    // 1,000 values of 1 and one of -15: the spike is under 2% of the mass, so the threshold is the 1s' level;
    // a spike that holds most of the mass is the threshold itself.
    expect(outlierThreshold([...Array.from({ length: 1000 }, () => 1), -15])).toBe(1)
    expect(outlierThreshold([...Array.from({ length: 99 }, () => 1), -1000])).toBe(1000)
    expect(outlierThreshold([0, 0, 0])).toBe(0)
    expect(outlierThreshold([0, -2, 2], 0)).toBe(2)
  })

  it('maps zero to 0.5, the bound to 1 and minus the bound to 0, clipping beyond', () => {
    expect(Array.from(signedDisplay([0, 2, -2, 4, -4, Number.NaN], 2))).toEqual([0.5, 1, 0, 1, 0, 0.5])
    expect(Array.from(signedDisplay([0, 0]))).toEqual([0.5, 0.5])
    // Without a bound, the map's own threshold: the spike saturates, the rest keeps its sign around 0.5.
    const shown = signedDisplay([...Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : -1)), 15])
    expect(shown[0]).toBe(0)
    expect(shown[1]).toBe(1)
    expect(shown[1000]).toBe(1)
  })
})
