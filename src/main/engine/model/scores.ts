import type { GraphIndex } from '../onnx/ir'

/** What a classifier does to its class scores before its output: probabilities follow from it. */
export type ScoreActivation = 'none' | 'softmax' | 'logsoftmax' | 'sigmoid'

const ACTIVATIONS: Record<string, ScoreActivation> = { Softmax: 'softmax', LogSoftmax: 'logsoftmax', Sigmoid: 'sigmoid' }
/** Ops between the activation and the output that only rename or reshape the scores. */
const TRIVIAL = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'])

export interface ScoreTensor {
  /** The tensor Grad-CAM and training differentiate: the class scores before any final activation. */
  name: string
  activation: ScoreActivation
}

const perImage = (shape: number[]) => shape.slice(1).reduce((p, d) => p * d, 1)

/**
 * The class scores behind a classifier's output. Keras, tf2onnx and Paddle2ONNX exports end in
 * Softmax; Grad-CAM's y^c and a training loss want the score before it (differentiating the
 * probability gives near-zero, distorted maps for confident predictions). Walks back from the
 * output through Identity/Reshape-style ops to a Softmax, LogSoftmax or Sigmoid over the class axis;
 * when there is none the output itself is the score.
 */
export function findScoreTensor(index: GraphIndex, shapes: Map<string, number[]>, output: string, numClasses: number, segmentation?: number[]): ScoreTensor {
  // Per-pixel scores [N, C, H, W]: the activation must keep that shape and normalise over the channels.
  const perImageCount = segmentation ? perImage(segmentation) : numClasses
  let t = output
  for (let guard = 0; guard < 16; guard++) {
    const p = index.producer.get(t)
    if (!p) break
    if (TRIVIAL.has(p.opType)) {
      t = p.inputs[0]
      continue
    }
    const activation = ACTIVATIONS[p.opType]
    const before = p.inputs[0]
    const shape = shapes.get(before)
    // The scores must be one value per class (any [N, K, 1, 1]-style shape), and a softmax must
    // normalise over the class axis, not over something else that happens to precede the output.
    if (!activation || !shape || shape.length < 2 || perImage(shape) !== perImageCount) break
    if (segmentation && (shape.length !== 4 || shape[1] !== numClasses)) break
    if (activation !== 'sigmoid') {
      const fallback = index.opset < 13 ? 1 : -1
      const raw = typeof p.attrs.axis === 'number' ? p.attrs.axis : fallback
      const axis = raw < 0 ? raw + shape.length : raw
      // Before opset 13 Softmax flattens to 2-D at `axis`; from 13 it normalises along `axis` alone.
      // Either way the axis must cover all K scores of an image.
      const covered = index.opset < 13 ? perImage([0, ...shape.slice(axis)]) : shape[axis]
      if (axis < 1 || covered !== numClasses) break
    }
    return { name: before, activation }
  }
  return { name: output, activation: 'none' }
}

function softmax(scores: ArrayLike<number>): Float64Array {
  let max = -Infinity
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i]
  const e = Float64Array.from(scores, (v) => Math.exp(v - max))
  const total = e.reduce((p, v) => p + v, 0)
  return e.map((v) => v / total)
}

/**
 * The probabilities for one image, from the model's own output: a Softmax or Sigmoid output is
 * already probabilities (shown as they are, not soft-maxed again), a LogSoftmax output is their
 * logarithm, and plain logits are soft-maxed (stably). The one reading of a model's output, so that
 * CAM, the audit and few-shot adaptation report the same probability for the same image.
 */
export function probabilitiesFrom(output: ArrayLike<number>, activation: ScoreActivation): Float64Array {
  if (activation === 'softmax' || activation === 'sigmoid') return Float64Array.from(output)
  if (activation === 'logsoftmax') return Float64Array.from(output, (v) => Math.exp(v))
  return softmax(output)
}
