import { describe, expect, it } from 'vitest'
import type { ReliabilityBin } from '../../src/shared/audit'
import {
  axisTicks,
  compactLabel,
  curvePoints,
  extent,
  fixedLabel,
  inset,
  linear,
  plotArea,
  plotFrame,
  polylinePoints,
  precisionLabel,
  reliabilityBars,
  seriesClass,
  seriesColour,
  ticks,
  trimmedLabel,
  xScale,
  yScale
} from '../../src/shared/plot'
import { lineChart, reliabilityChart } from '../../src/main/engine/audit/svg-plots'

/** The plotting kit shared by the app's plots and the HTML report, on cases small enough to work out by hand. */
const box = { left: 10, top: 20, width: 100, height: 50 }
const pts = (s: string) => s.split(' ').map((p) => p.split(',').map(Number))

describe('plot scales', () => {
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

describe('plot frames, clamping and ticks', () => {
  it('places scales in the box, y upwards, and clamps only when asked', () => {
    expect(plotFrame(300, 220)).toEqual({ width: 300, height: 220, box: plotArea(300, 220) })
    expect(xScale(box)(0.5)).toBe(60)
    expect(yScale(box, [-1, 1])(1)).toBe(20)
    expect(yScale(box)(1.4)).toBeCloseTo(0)
    expect(yScale(box, [0, 1], true)(1.4)).toBe(20)
    expect(yScale(box, [0, 1], true)(-2)).toBe(70)
  })

  it('labels ticks where they sit', () => {
    expect(axisTicks(ticks(0, 1, 3), xScale(box), fixedLabel(2))).toEqual([
      { value: 0, at: 10, label: '0.00' },
      { value: 0.5, at: 60, label: '0.50' },
      { value: 1, at: 110, label: '1.00' }
    ])
    expect(ticks(0, 1, 5).map(compactLabel)).toEqual(['0', '0.25', '0.5', '0.75', '1'])
    expect([0, 0.5, 1].map((v) => trimmedLabel(2)(v * 100))).toEqual(['0', '50', '100'])
    expect([2.3456, 0.98765, 250.4, 3].map(precisionLabel)).toEqual(['2.35', '0.988', '250', '3'])
  })

  it('skips points with a missing coordinate instead of writing NaN', () => {
    const x = xScale(box)
    const y = yScale(box)
    expect(polylinePoints([{ x: 0, y: 1 }, { x: Number.NaN, y: 0.5 }, { x: 1, y: Number.NaN }, { x: 1, y: 0 }], x, y)).toBe('10.0,20.0 110.0,70.0')
  })

  it('cycles eight series colours, the same slots as the stylesheet classes', () => {
    expect(seriesColour(0)).toBe('#1f77b4')
    expect(seriesColour(8)).toBe(seriesColour(0))
    expect(seriesClass(9)).toBe('series-1')
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
    // The mean-confidence marker sits mid-bin; an inset leaves a gutter between bars, never a negative width.
    expect(bars[0].marker.x).toBe(72.5)
    expect(bars[0].marker.y).toBeCloseTo(35)
    expect(inset(bars[0].bar, 1)).toEqual({ left: 61, top: 45, width: 23, height: 25 })
    expect(inset({ left: 0, top: 0, width: 1, height: 1 }, 1).width).toBe(0)
  })
})

describe('the report draws the same geometry as inline SVG', () => {
  it('a line chart: one polyline per series, clamped to the axis, missing samples skipped, text escaped', () => {
    const svg = lineChart({ title: 'A <b>', xLabel: 'x', yLabel: 'y', series: [{ name: 'm & n', xs: [0, 0.5, 1], ys: [1.2, Number.NaN, 0] }] })
    expect(svg).toMatch(/^<svg class="plot" viewBox="0 0 420 260" width="420" height="260" role="img" aria-label="A &lt;b&gt;">/)
    // Plot area 48..408 x 24..220: y = 1.2 is drawn at the top (clamped), NaN leaves a gap.
    expect(svg).toContain('points="48.0,24.0 408.0,220.0"')
    expect(svg).toContain('stroke="#1f77b4"')
    expect(svg).toContain('m &amp; n')
    expect(svg).not.toMatch(/NaN|<script|href/)
  })

  it('a reliability chart: a bar and a marker per non-empty bin', () => {
    const svg = reliabilityChart([{ lo: 0, hi: 0.5, count: 0, accuracy: null, confidence: null }, { lo: 0.5, hi: 1, count: 4, accuracy: 0.75, confidence: 0.8 }], 0.05)
    expect(svg.match(/<rect x="229" y="73" width="178" height="147"/g)).toHaveLength(1)
    expect(svg.match(/<circle[^>]*fill="#d62728"/g)).toHaveLength(2) // the bin's marker and the legend's
    expect(svg).toContain('Reliability (ECE 0.050)')
  })
})
