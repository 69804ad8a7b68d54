import { describe, expect, it } from 'vitest'
import { displayMap, maxAbsChannels, sumChannels } from '../../src/main/engine/cam/pixel/channels'
import { blurredBaseline } from '../../src/main/engine/cam/pixel/baselines'
import { gaussLegendre, pathRule } from '../../src/main/engine/cam/pixel/quadrature'
import { gaussian, stream } from '../../src/main/engine/cam/pixel/random'
import { maxOf, minOf } from '../../src/shared/stats'

describe("Integrated Gradients' path rules", () => {
  it("Gauss-Legendre nodes and weights are numpy's leggauss", () => {
    const [x3, w3] = gaussLegendre(3)
    expect(Array.from(x3)).toEqual([-Math.sqrt(3 / 5), 0, Math.sqrt(3 / 5)].map((v) => expect.closeTo(v, 14)))
    expect(Array.from(w3)).toEqual([5 / 9, 8 / 9, 5 / 9].map((v) => expect.closeTo(v, 14)))
    // numpy.polynomial.legendre.leggauss(64), first nodes and weights.
    const [x, w] = gaussLegendre(64)
    expect(x[0]).toBeCloseTo(-0.9993050417357722, 13)
    expect(w[0]).toBeCloseTo(0.0017832807216964256, 13)
    expect(x[1]).toBeCloseTo(-0.9963401167719552, 13)
    expect(x[31]).toBeCloseTo(-0.02435029266342443, 13)
    expect(w[31]).toBeCloseTo(0.04869095700913975, 13)
  })

  it('both rules integrate over [0, 1] with weights summing to 1; Gauss-Legendre exactly up to degree 2n-1', () => {
    for (const method of ['gausslegendre', 'trapezoid'] as const) {
      const { alphas, weights } = pathRule(method, 16)
      expect(weights.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 12)
      expect(minOf(alphas)).toBeGreaterThanOrEqual(0)
      expect(maxOf(alphas)).toBeLessThanOrEqual(1)
    }
    const { alphas, weights } = pathRule('gausslegendre', 8)
    const integral = alphas.reduce((p, a, k) => p + weights[k] * a ** 15, 0)
    expect(integral).toBeCloseTo(1 / 16, 12)
    const t = pathRule('trapezoid', 5)
    expect(Array.from(t.alphas)).toEqual([0, 0.25, 0.5, 0.75, 1])
    expect(Array.from(t.weights)).toEqual([0.125, 0.25, 0.25, 0.25, 0.125])
    expect(() => pathRule('trapezoid', 1)).toThrow(/at least 2/)
  })
})

describe('seeded noise', () => {
  it('is repeatable per (seed, keys), differs otherwise, and has the asked standard deviation', () => {
    const a = gaussian(stream(7, 1, 2), 20000, 0.5)
    expect(Array.from(gaussian(stream(7, 1, 2), 20000, 0.5))).toEqual(Array.from(a))
    expect(Array.from(gaussian(stream(7, 1, 3), 10, 0.5))).not.toEqual(Array.from(a.subarray(0, 10)))
    const mean = a.reduce((p, v) => p + v, 0) / a.length
    const sd = Math.sqrt(a.reduce((p, v) => p + (v - mean) ** 2, 0) / a.length)
    expect(Math.abs(mean)).toBeLessThan(0.02)
    expect(sd).toBeCloseTo(0.5, 1)
  })
})

describe('pixel maps', () => {
  // Two channels of a 1x3 image, channels-first: [c0: 1, -2, 3 | c1: -4, 0.5, 1].
  const a = Float32Array.from([1, -2, 3, -4, 0.5, 1])
  it('reduce channels by sum (signed) or max |.| in either layout', () => {
    expect(Array.from(sumChannels(a, [2, 1, 3], 'NCHW'))).toEqual([-3, -1.5, 4])
    expect(Array.from(maxAbsChannels(a, [2, 1, 3], 'NCHW'))).toEqual([4, 2, 3])
    const nhwc = Float32Array.from([1, -4, -2, 0.5, 3, 1])
    expect(Array.from(sumChannels(nhwc, [2, 1, 3], 'NHWC'))).toEqual([-3, -1.5, 4])
  })

  it("are displayed by |value| over Captum's 98% cumulative threshold, clipped to 1", () => {
    // |v|: 100 x 0.5, 100 x 1, one 2 (total 152): 98% (148.96) is first reached within the ones, so the
    // threshold is 1: halves show at 0.5, ones at 1, and the lone 2 (under 2% of the mass) is clipped to 1.
    const map = Float32Array.from([...new Array(100).fill(-0.5), ...new Array(100).fill(1), 2])
    const shown = displayMap(map)
    expect(shown[0]).toBeCloseTo(0.5, 6)
    expect(shown[100]).toBeCloseTo(1, 6)
    expect(shown[200]).toBe(1)
    expect(Array.from(displayMap(new Float32Array(4)))).toEqual([0, 0, 0, 0])
  })

  it('the blurred baseline keeps a constant image and smooths an edge', () => {
    const flat = new Float32Array(3 * 32 * 32).fill(-1.5)
    expect(Array.from(blurredBaseline(flat, [3, 32, 32], 'NCHW')).every((v) => Math.abs(v + 1.5) < 1e-6)).toBe(true)
    const edge = Float32Array.from({ length: 32 * 32 }, (_, i) => (i % 32 < 16 ? 0 : 1))
    const b = blurredBaseline(edge, [1, 32, 32], 'NCHW')
    expect(b[15]).toBeGreaterThan(0.2)
    expect(b[15]).toBeLessThan(0.5)
    expect(b[0]).toBeLessThan(0.01)
  })
})
