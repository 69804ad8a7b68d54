import { describe, expect, it } from 'vitest'
import { binOf, calibrationSummary, confusionMatrix, reliability } from '../../src/main/engine/audit/calibration'

describe('audit calibration', () => {
  // Four predictions, 4 bins of width 0.25 (bin m holds (m/4, (m+1)/4]):
  //   0.875 right, 0.875 wrong -> bin 3: accuracy 0.5, confidence 0.875, weight 2/4
  //   0.5 right               -> bin 1: accuracy 1,   confidence 0.5,   weight 1/4
  //   0.25 wrong              -> bin 0: accuracy 0,   confidence 0.25,  weight 1/4
  // ECE = 2/4 * 0.375 + 1/4 * 0.5 + 1/4 * 0.25 = 0.1875 + 0.125 + 0.0625 = 0.375
  const rows = [
    { label: 0, predicted: 0, confidence: 0.875 },
    { label: 1, predicted: 0, confidence: 0.875 },
    { label: 1, predicted: 1, confidence: 0.5 },
    { label: 2, predicted: 1, confidence: 0.25 }
  ]

  it('computes the expected calibration error of a hand-worked case', () => {
    const r = reliability(rows, 4)
    expect(r.ece).toBeCloseTo(0.375, 12)
    expect(r.bins.map((b) => b.count)).toEqual([1, 1, 0, 2])
    expect(r.bins[3].accuracy).toBe(0.5)
    expect(r.bins[3].confidence).toBe(0.875)
    expect(r.bins[2].accuracy).toBeNull()
  })

  it('puts a confidence on a bin edge in the lower bin, and 0 in the first', () => {
    expect(binOf(0.5, 4)).toBe(1)
    expect(binOf(0.5000001, 4)).toBe(2)
    expect(binOf(0, 4)).toBe(0)
    expect(binOf(1, 4)).toBe(3)
  })

  it('a perfectly calibrated set has ECE 0', () => {
    const perfect = [
      { label: 0, predicted: 0, confidence: 1 },
      { label: 0, predicted: 0, confidence: 0.5 },
      { label: 1, predicted: 0, confidence: 0.5 }
    ]
    expect(reliability(perfect, 10).ece).toBe(0)
  })

  it('counts the confusion matrix and per-class accuracy by true label', () => {
    expect(confusionMatrix(rows, 3)).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 1, 0]
    ])
    const s = calibrationSummary(rows, ['a', 'b', 'c'], 4, { mistakes: [], unsure: [] })
    expect(s.accuracy).toBe(0.5)
    expect(s.perClass.map((c) => c.accuracy)).toEqual([1, 0.5, 0])
  })
})
