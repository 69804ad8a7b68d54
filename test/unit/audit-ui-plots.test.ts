import { describe, expect, it } from 'vitest'
import type { AuditImage, ReliabilityBin } from '../../src/shared/audit'
import {
  bestIndex,
  cellImages,
  curvePoints,
  extent,
  linear,
  maxDiagonal,
  maxOffDiagonal,
  plotArea,
  reliabilityBars,
  shade,
  ticks
} from '../../src/renderer/src/components/audit/plot-math'

/** The Audit view's plot and table arithmetic, on cases small enough to work out by hand. */
const box = { left: 10, top: 20, width: 100, height: 50 }
const pts = (s: string) => s.split(' ').map((p) => p.split(',').map(Number))

describe('audit plot scales', () => {
  it('maps a domain linearly onto a range, flipped for SVG y', () => {
    const y = linear([0, 1], [70, 20])
    expect(y(0)).toBe(70)
    expect(y(1)).toBe(20)
    expect(y(0.25)).toBe(57.5)
    // A zero-width domain has no slope: everything sits in the middle instead of dividing by zero.
    expect(linear([3, 3], [0, 10])(99)).toBe(5)
  })

  it('leaves room for the tick labels and widens a flat extent', () => {
    expect(plotArea(300, 220)).toEqual({ left: 36, top: 8, width: 248, height: 184 })
    expect(extent([0.2, 0.6, Number.NaN])).toEqual([0.2, 0.6])
    expect(extent([0.2, 0.6], [0, 1])).toEqual([0, 1])
    expect(extent([-0.3, 0.5], [0, 1])).toEqual([-0.3, 1])
    const flat = extent([0.4, 0.4])
    expect(flat[0]).toBeCloseTo(-0.1, 12)
    expect(flat[1]).toBeCloseTo(0.9, 12)
    expect(extent([])).toEqual([0, 1])
    expect(ticks(-1, 1, 5)).toEqual([-1, -0.5, 0, 0.5, 1])
  })

  it('places a deletion curve at evenly spaced fractions, skipping missing samples', () => {
    // 5 samples over x = 0, .25, .5, .75, 1; y = probability in [0, 1] with 1 at the top of the box.
    expect(pts(curvePoints([1, 0.5, 0.25, 0, 0], box))).toEqual([
      [10, 20],
      [35, 45],
      [60, 57.5],
      [85, 70],
      [110, 70]
    ])
    expect(pts(curvePoints([1, Number.NaN, 0], box))).toEqual([
      [10, 20],
      [110, 70]
    ])
    // ROAD: explicit x positions (percentiles / 100) and a y domain below 0 (the sanity plot's [-1, 1]).
    expect(pts(curvePoints([0, -1], box, [-1, 1], [0.1, 0.9]))).toEqual([
      [20, 45],
      [100, 70]
    ])
  })
})

describe('reliability diagram', () => {
  const bins: ReliabilityBin[] = [
    { lo: 0, hi: 0.5, count: 0, accuracy: null, confidence: null },
    { lo: 0.5, hi: 0.75, count: 2, accuracy: 0.5, confidence: 0.7 },
    { lo: 0.75, hi: 1, count: 6, accuracy: 1, confidence: 0.9 }
  ]

  it('draws one bar per non-empty bin, up to its accuracy, with the gap to its confidence', () => {
    const bars = reliabilityBars(bins, box)
    expect(bars).toHaveLength(2)
    // Bin [0.5, 0.75): x from 10 + 50 to 10 + 75; accuracy 0.5 -> y = 70 - 25 = 45; confidence 0.7 -> y = 35.
    expect(bars[0].bar).toEqual({ left: 60, top: 45, width: 25, height: 25 })
    expect(bars[0].gap.left).toBe(60)
    expect(bars[0].gap.top).toBeCloseTo(35)
    expect(bars[0].gap.height).toBeCloseTo(10)
    // Over-confident or under-confident, the gap spans the two values: here accuracy 1 above confidence 0.9.
    expect(bars[1].bar).toEqual({ left: 85, top: 20, width: 25, height: 50 })
    expect(bars[1].gap.top).toBe(20)
    expect(bars[1].gap.height).toBeCloseTo(5)
  })
})

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
