import { basename } from 'node:path'
import { ApiError, toErrorShape } from '../../../shared/errors'
import { NORMALIZATIONS, type NormalizationScore, type PreprocessSuggestion } from '../../../shared/preprocess'
import { loadDisplayImage } from '../data/decode-image'
import { imageTensor } from '../data/image-tensor'
import type { Preprocess } from '../data/preprocess-spec'
import { modelPreprocess } from '../model/inputs'
import type { LoadedModel } from '../model/loaded-model'
import { ForwardScorer } from '../model/scorer'

export interface SuggestInput {
  path: string
  /** The class the image's folder names, or null (then only its confidence counts). */
  label: number | null
}

export interface SuggestHooks {
  throwIfCancelled?: () => void
  /** Forward passes done of candidates x images, and the candidate under way. */
  onProgress?: (done: number, total: number, candidate: string) => void
  batch?: number
}

/** Running sums of one candidate. */
interface Tally {
  images: number
  labelled: number
  correct: number
  confidence: number
  /** Images per predicted class. */
  predicted: Map<number, number>
}

const argmax = (p: Float64Array) => p.reduce((best, v, i) => (v > p[best] ? i : best), 0)

/**
 * Runs the model's plain forward pass on the images once per candidate normalisation (every one
 * Metascope offers; resize and channel order as the caller gives them) and scores each: top-1
 * accuracy on the images whose folder names a class, and the mean top-1 probability over all. The
 * images are decoded once and normalised per candidate; the audit's ForwardScorer batches the runs
 * and reads probabilities as every other part does. Nothing is applied: the caller shows the table.
 */
export async function suggestNormalization(model: LoadedModel, inputs: SuggestInput[], base: Partial<Pick<Preprocess, 'resize' | 'channelOrder'>>, hooks: SuggestHooks = {}): Promise<PreprocessSuggestion> {
  const pres = NORMALIZATIONS.map((normalization) => modelPreprocess(model, { ...base, normalization }))
  const tallies: Tally[] = NORMALIZATIONS.map(() => ({ images: 0, labelled: 0, correct: 0, confidence: 0, predicted: new Map<number, number>() }))
  const failed: PreprocessSuggestion['failed'] = []
  const scorer = await ForwardScorer.create(model, hooks.batch ?? 8)
  const total = inputs.length * NORMALIZATIONS.length
  let done = 0
  try {
    for (let start = 0; start < inputs.length; start += scorer.batch) {
      hooks.throwIfCancelled?.()
      const chunk = inputs.slice(start, start + scorer.batch)
      // Decoded and resized once: only the normalisation differs between the candidates.
      const decoded = await Promise.all(
        chunk.map(async (input) => {
          try {
            return { input, rgb: (await loadDisplayImage(input.path, pres[0].size, pres[0].resize)).rgb }
          } catch (err) {
            const error = toErrorShape(err)
            failed.push({ file: input.path, error: { ...error, file: error.file ?? input.path } })
            return null
          }
        })
      )
      const good = decoded.filter((d) => d !== null)
      for (const [c, pre] of pres.entries()) {
        const tally = tallies[c]
        await scorer.score(
          good.map(({ input, rgb }) => ({
            target: 0,
            fill: (dst: Float32Array) => dst.set(imageTensor(rgb, pre)),
            done: (_: number, p: Float64Array) => {
              const top = argmax(p)
              tally.images++
              tally.confidence += p[top]
              tally.predicted.set(top, (tally.predicted.get(top) ?? 0) + 1)
              if (input.label !== null) {
                tally.labelled++
                if (top === input.label) tally.correct++
              }
            }
          })),
          hooks.throwIfCancelled
        )
        done += chunk.length
        hooks.onProgress?.(done, total, NORMALIZATIONS[c])
      }
    }
  } finally {
    await scorer.release()
  }
  if (!tallies[0].images) {
    const first = failed[0]
    throw new ApiError('bad-file', `None of the ${inputs.length} image(s) could be read, so no normalisation can be scored (${first ? `${basename(first.file)}: ${first.error.message}` : 'no images'}).`, first?.file)
  }
  const scores: NormalizationScore[] = NORMALIZATIONS.map((normalization, c) => {
    const t = tallies[c]
    const [common, count] = [...t.predicted].reduce((a, b) => (b[1] > a[1] ? b : a))
    return {
      normalization,
      images: t.images,
      labelled: t.labelled,
      accuracy: t.labelled ? t.correct / t.labelled : null,
      meanConfidence: t.confidence / t.images,
      commonClass: { index: common, label: model.labelOf(common), share: count / t.images }
    }
  })
  const by = scores.some((s) => s.labelled > 0) ? 'accuracy' : 'confidence'
  // Accuracy first; equal accuracies (a small set) are told apart by confidence.
  const key = (s: NormalizationScore) => (by === 'accuracy' ? [s.accuracy ?? 0, s.meanConfidence] : [s.meanConfidence])
  const better = (a: NormalizationScore, b: NormalizationScore) => {
    const [ka, kb] = [key(a), key(b)]
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i]
    return false
  }
  const best = scores.reduce((b, s) => (better(s, b) ? s : b), scores[0])
  return { by, scores, best: best.normalization, failed }
}
