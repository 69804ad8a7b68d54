import { matchLabels } from '../../model/labels'
import type { LoadedModel } from '../../model/loaded-model'
import { probabilitiesFrom } from '../../model/scores'
import type { Embedding } from './embed'
import type { HeadWeights } from './head-net'

export interface Scored {
  index: number
  label: string
  probability: number
}

export interface AdaptPrediction {
  file: string
  trueClass: string
  before: Scored
  after: Scored
  /** Null when the image's class is not one of the model's labels (then "before" cannot be right or wrong). */
  correctBefore: boolean | null
  correctAfter: boolean
}

export interface QueryScores {
  predictions: AdaptPrediction[]
  /** Null unless every class name is one of the model's labels. */
  accuracyBefore: number | null
  accuracyAfter: number
}

/** Each query image before (the original model's own prediction) and after (the adapted head), with both accuracies. */
export function scoreQueries(model: LoadedModel, classes: string[], adapted: HeadWeights, files: string[], query: Embedding[], labels: Int32Array): QueryScores {
  const modelIndex = matchLabels(model, classes)
  // Per class, so that in a mix of old and new classes each old one is still scored (a new one: null).
  const ownIndex = classes.map((c) => matchLabels(model, [c])?.[0] ?? null)
  const predictions = query.map((e, i): AdaptPrediction => {
    // Float32 as the original model's probabilities are, so both columns round alike.
    const probs = Float32Array.from(probabilitiesFrom(headLogits(adapted, e.features), 'none'))
    let top = 0
    for (let c = 1; c < classes.length; c++) if (probs[c] > probs[top]) top = c
    const truth = labels[i]
    return {
      file: files[i],
      trueClass: classes[truth],
      before: { index: e.top1, label: model.labelOf(e.top1), probability: e.probability },
      after: { index: top, label: classes[top], probability: probs[top] },
      correctBefore: ownIndex[truth] === null ? null : e.top1 === ownIndex[truth],
      correctAfter: top === truth
    }
  })
  const rate = (flags: boolean[]) => flags.filter(Boolean).length / Math.max(1, flags.length)
  return {
    predictions,
    accuracyBefore: modelIndex ? rate(predictions.map((p) => p.correctBefore === true)) : null,
    accuracyAfter: rate(predictions.map((p) => p.correctAfter))
  }
}

/** logits = W x + b for one feature row, as float64 sums. */
export function headLogits(w: HeadWeights, x: Float32Array): Float64Array {
  const n = w.bias.length
  const f = x.length
  const out = new Float64Array(n)
  for (let c = 0; c < n; c++) {
    let s = w.bias[c]
    for (let j = 0; j < f; j++) s += w.weight[c * f + j] * x[j]
    out[c] = s
  }
  return out
}
