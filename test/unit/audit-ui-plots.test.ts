import { describe, expect, it } from 'vitest'
import type { AuditImage } from '../../src/shared/audit'
import { bestIndex, cellImages, maxDiagonal, maxOffDiagonal, shade } from '../../src/renderer/src/components/audit/plot-math'

/** The Audit view's table and heat-grid arithmetic, on cases small enough to work out by hand (its plots: plot-kit.test.ts). */

describe('confusion grid and drill-down', () => {
  const img = (path: string, label: number | null, predicted: number, confidence: number, failed = false): AuditImage => ({
    path,
    label,
    predicted,
    confidence,
    ...(failed ? { error: { code: 'bad-file', message: 'unreadable' } } : {})
  })
  const images = [
    img('a/1.png', 0, 0, 0.9),
    img('a/2.png', 0, 1, 0.6),
    img('a/3.png', 0, 1, 0.8),
    img('b/1.png', 1, 1, 0.7),
    img('b/2.png', 1, 0, 0.5),
    img('b/3.png', 1, 0, 0.4, true),
    img('x.png', null, 1, 0.99)
  ]

  it('scales a confusion matrix: mistakes and hits on their own scales', () => {
    const m = [
      [1, 2],
      [1, 1]
    ]
    expect(maxOffDiagonal(m)).toBe(2)
    expect(maxDiagonal(m)).toBe(1)
    expect(shade(1, 2)).toBe(0.5)
    expect(shade(3, 0)).toBe(0)
  })

  it("a cell's images are its own, most confident first; failed and unlabelled images are left out", () => {
    expect(cellImages(images, 0, 1).map((i) => i.path)).toEqual(['a/3.png', 'a/2.png'])
    expect(cellImages(images, 1, 0).map((i) => i.path)).toEqual(['b/2.png'])
    expect(cellImages(images, 1, 1).map((i) => i.path)).toEqual(['b/1.png'])
  })
})

describe('method ranking table', () => {
  it('marks the best value per column in the direction that is better; missing values never win', () => {
    expect(bestIndex([0.3, 0.1, 0.2], 'lower')).toBe(1)
    expect(bestIndex([0.3, 0.1, 0.2], 'higher')).toBe(0)
    expect(bestIndex([null, 0.5, Number.NaN, 0.5], 'higher')).toBe(1)
    expect(bestIndex([null, null], 'lower')).toBeNull()
  })
})
