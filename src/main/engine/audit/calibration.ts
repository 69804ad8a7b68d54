import type { CalibrationSummary, ReliabilityBin, WorstCase } from '../../../shared/audit'

export interface Labelled {
  label: number
  predicted: number
  /** The top-1 probability. */
  confidence: number
}

/**
 * The bin of a confidence among `bins` equal-width bins, as Guo et al. 2017 define them: bin m holds
 * confidences in (m/M, (m+1)/M]; a confidence of exactly 0 goes to the first bin.
 */
export function binOf(confidence: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1))
}

/** Reliability bins and the expected calibration error: sum over bins of |B|/n * |accuracy(B) - confidence(B)|. */
export function reliability(rows: Labelled[], bins: number): { bins: ReliabilityBin[]; ece: number } {
  const count = new Array<number>(bins).fill(0)
  const correct = new Array<number>(bins).fill(0)
  const conf = new Array<number>(bins).fill(0)
  for (const r of rows) {
    const b = binOf(r.confidence, bins)
    count[b]++
    if (r.predicted === r.label) correct[b]++
    conf[b] += r.confidence
  }
  let ece = 0
  const out: ReliabilityBin[] = count.map((n, b) => {
    const accuracy = n ? correct[b] / n : null
    const confidence = n ? conf[b] / n : null
    if (n) ece += (n / rows.length) * Math.abs(accuracy! - confidence!)
    return { lo: b / bins, hi: (b + 1) / bins, count: n, accuracy, confidence }
  })
  return { bins: out, ece }
}

/** confusion[true][predicted]. */
export function confusionMatrix(rows: Labelled[], classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  for (const r of rows) m[r.label][r.predicted]++
  return m
}

export function calibrationSummary(
  rows: Labelled[],
  labels: string[],
  bins: number,
  worst: { mistakes: WorstCase[]; unsure: WorstCase[] }
): CalibrationSummary {
  const classes = labels.length
  const confusion = confusionMatrix(rows, classes)
  const rel = reliability(rows, bins)
  const correct = rows.filter((r) => r.predicted === r.label).length
  return {
    images: rows.length,
    accuracy: rows.length ? correct / rows.length : 0,
    perClass: labels.map((label, index) => {
      const count = confusion[index].reduce((a, b) => a + b, 0)
      return { index, label, count, correct: confusion[index][index], accuracy: count ? confusion[index][index] / count : null }
    }),
    confusion,
    bins: rel.bins,
    ece: rel.ece,
    mostConfidentMistakes: worst.mistakes,
    leastConfidentCorrect: worst.unsure
  }
}
