import type { LoadedModel } from '../../model/loaded-model'
import type { ForwardScorer, ScoreTask } from '../../model/scorer'
import type { PerturbationAttribution, PerturbationMethodModule, PerturbationParams } from '../methods/base'
import type { PixelSources } from '../pixel/sources'
import { riseMask } from './masks'

export interface PerturbationRun {
  /** The plain model, with its class scores before any final activation (ForwardScorer classScores). */
  scorer: ForwardScorer
  module: PerturbationMethodModule
  params: PerturbationParams
  sources: PixelSources
  seed: number
}

export interface PerturbationOutcome {
  /** Per image: every class's score (before a final activation) and probability, on the image itself. */
  scores: Float64Array[]
  probabilities: Float64Array[]
  targets: number[]
  attributions: PerturbationAttribution[]
}

const argMax = (v: Float64Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0)

/**
 * Runs a perturbation attribution over a batch: one pass of the images themselves (scores, top-1 target,
 * F(x)), then each image's changed copies through the same scorer, a batch per onnxruntime run; the
 * method hears nothing of batches. Progress is told per batch, cancellation asked before each.
 */
export async function runPerturbation(r: PerturbationRun, m: LoadedModel, batch: Float32Array, targets: number[], throwIfCancelled?: () => void, onStep?: (image: number, done: number, total: number) => void): Promise<PerturbationOutcome> {
  const n = targets.length
  const per = batch.length / n
  const scores: Float64Array[] = []
  const probabilities: Float64Array[] = []
  const first: ScoreTask[] = targets.map((_, i) => ({
    target: 0,
    fill: (dst) => dst.set(batch.subarray(i * per, (i + 1) * per)),
    done: (_p, probs, s) => {
      probabilities[i] = probs
      scores[i] = s!
    }
  }))
  await r.scorer.score(first, throwIfCancelled)
  const wanted = targets.map((t, i) => (t >= 0 ? t : argMax(scores[i])))
  const [, h, w] = m.inputChw
  const mask = r.sources.mask ?? ((k: number) => riseMask(r.seed, k, { h, w, cellSize: r.params.cellSize, keep: r.params.keep }))
  const attributions: PerturbationAttribution[] = []
  for (let i = 0; i < n; i++) {
    throwIfCancelled?.()
    const input = batch.subarray(i * per, (i + 1) * per)
    const target = wanted[i]
    const step = onStep && ((done: number, total: number) => onStep(i, done, total))
    attributions.push(
      await r.module.attribute({
        input,
        chw: m.inputChw,
        layout: m.layout,
        target,
        score: scores[i][target],
        params: r.params,
        baseline: () => r.sources.baseline(input),
        mask: (k) => {
          const made = mask(k)
          if (made.length !== h * w) throw new Error(`mask ${k} has ${made.length} values; the model input has ${h * w} pixels`)
          return made
        },
        scores: async (count, fill, use) => {
          step?.(0, count)
          function* tasks(): Generator<ScoreTask> {
            for (let k = 0; k < count; k++) yield { target, fill: (dst) => fill(k, dst), done: (_p, _probs, s) => use(k, s![target]) }
          }
          await r.scorer.score(tasks(), throwIfCancelled, (done) => step?.(done, count))
        }
      })
    )
  }
  return { scores, probabilities, targets: wanted, attributions }
}
