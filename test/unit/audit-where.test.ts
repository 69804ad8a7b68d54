import { describe, expect, it } from 'vitest'
import { boxScores, classLooks, clusterMaps, decodeSmall, encodeSmall, massShares, SMALL, smallMap } from '../../src/main/engine/audit/where-it-looks'

/** A 20 x 20 map that is 1 inside [y0, y1) x [x0, x1) and 0 elsewhere. */
function block(y0: number, y1: number, x0: number, x1: number, n = 20): Float32Array {
  const m = new Float32Array(n * n)
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * n + x] = 1
  return m
}

describe('audit: where does it look', () => {
  it('border and off-centre shares of hand-made maps', () => {
    // 20 px: the border band is 2 px wide, the centre is rows/cols 5..14.
    expect(massShares(block(0, 2, 0, 20), 20, 20)).toEqual({ border: 1, offCentre: 1 })
    expect(massShares(block(5, 15, 5, 15), 20, 20)).toEqual({ border: 0, offCentre: 0 })
    // Half the mass in the top band (rows 0-1), half in the centre (rows 8-9 of cols 5-14 ... 20 px each).
    const half = block(0, 1, 0, 20)
    half.set(block(8, 9, 0, 20).subarray(160, 180), 160)
    const s = massShares(half, 20, 20)
    expect(s.border).toBeCloseTo(0.5 + 0.5 * (4 / 20), 12) // the centre row's 4 edge pixels are in the side bands
    expect(s.offCentre).toBeCloseTo(1 - 0.5 * (10 / 20), 12)
    expect(massShares(new Float32Array(400), 20, 20)).toEqual({ border: 0, offCentre: 0 })
  })

  it('pointing game and energy in box', () => {
    const m = block(2, 6, 2, 6)
    m[3 * 20 + 3] = 2 // the maximum
    expect(boxScores(m, 20, 20, [0, 0, 0.5, 0.5])).toEqual({ pointing: true, energyInBox: 1 })
    const r = boxScores(m, 20, 20, [0.5, 0.5, 1, 1])
    expect(r.pointing).toBe(false)
    expect(r.energyInBox).toBe(0)
    // A box over the left half of the block (cols 2-3): 8 + 1 (the doubled pixel) of 17.
    expect(boxScores(m, 20, 20, [0, 0, 0.2, 1]).energyInBox).toBeCloseTo(9 / 17, 12)
  })

  it('16 x 16 maps by area mean, stored as bytes', () => {
    const s = smallMap(block(0, 32, 0, 16, 32), 32, 32)
    expect(s.length).toBe(SMALL * SMALL)
    expect(s[0]).toBe(255)
    expect(s[SMALL - 1]).toBe(0)
    expect(decodeSmall(encodeSmall(s))).toEqual(s)
  })

  it('a watermark in a corner becomes its own group, and class means are exact byte means', () => {
    const centre = encodeSmall(smallMap(block(6, 14, 6, 14), 20, 20))
    const corner = encodeSmall(smallMap(block(0, 4, 16, 20), 20, 20))
    const items = Array.from({ length: 12 }, (_, i) => ({ path: `img${String(i).padStart(2, '0')}.png`, label: i % 2, predicted: i % 2, small: i < 4 ? corner : centre, border: i < 4 ? 1 : 0, offCentre: i < 4 ? 1 : 0 }))
    const groups = clusterMaps(items, 2, 0)
    expect(groups.map((g) => g.size)).toEqual([8, 4])
    expect(groups[1].members.map((m) => m.path)).toEqual(['img00.png', 'img01.png', 'img02.png', 'img03.png'])
    expect(groups[1].border).toBeGreaterThan(0.4)
    expect(groups[0].border).toBe(0)
    const looks = classLooks(items, 'label', ['even', 'odd'])
    expect(looks.map((l) => l.count)).toEqual([6, 6])
    expect(looks[0].border).toBeCloseTo(2 / 6, 12)
    const c = decodeSmall(corner)
    const z = decodeSmall(centre)
    expect(looks[0].mean[0]).toBeCloseTo((2 * c[0] + 4 * z[0]) / 6 / 255, 12)
  })
})
