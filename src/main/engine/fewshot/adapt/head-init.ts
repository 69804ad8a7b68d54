import { seededRandom } from '../../data/random'
import { folderSafe } from '../../model/labels'
import type { LoadedModel } from '../../model/loaded-model'
import { headValues, type ClassifierHead } from './head'
import type { FeatureRef } from './embed'
import type { HeadWeights } from './head-net'

/** How many support examples each of `ways` classes has. */
export function classCounts(labels: Int32Array, ways: number): Int32Array {
  const counts = new Int32Array(ways)
  labels.forEach((y) => counts[y]++)
  return counts
}

/** An N-way head of zeros (for graphs that set their own starting head). */
export function zeroHead(ways: number, f: number): HeadWeights {
  return { weight: new Float32Array(ways * f), bias: new Float32Array(ways) }
}

/** Class means of the support features, c_n, and the prototype head W_n = 2 c_n, b_n = -|c_n|^2. */
export function prototypeHead(support: Float32Array[], labels: Int32Array, ways: number, f: number): HeadWeights {
  const sums = new Float64Array(ways * f)
  const counts = new Float64Array(ways)
  support.forEach((x, i) => {
    counts[labels[i]]++
    for (let j = 0; j < f; j++) sums[labels[i] * f + j] += x[j]
  })
  const weight = new Float32Array(ways * f)
  const bias = new Float32Array(ways)
  for (let n = 0; n < ways; n++) {
    let sq = 0
    for (let j = 0; j < f; j++) {
      const c = sums[n * f + j] / counts[n]
      weight[n * f + j] = 2 * c
      sq += c * c
    }
    bias[n] = -sq
  }
  return { weight, bias }
}

/**
 * Proto-MAML's start for adapting a pretrained model: the prototype head divided by a temperature, the
 * mean squared norm of the support features. Pretrained features are long (mean |f|^2 of 76 for
 * MobileNetV2's pooled 1280 values), so the plain prototype head is already nearly certain on the
 * support set, and its steps lower the loss without moving a single query prediction (67.9% whether
 * 10, 50 or 100 steps, where logistic regression reaches 73.9). From the tempered start the same steps
 * do the work: 72.6% at 100 steps (bench/fewshot_real_temperature.py, docs/fewshot-adapt.md). The
 * argmax of the start is still nearest prototype.
 */
export function temperedPrototypeHead(support: Float32Array[], labels: Int32Array, ways: number, f: number): HeadWeights {
  const head = prototypeHead(support, labels, ways, f)
  let sq = 0
  for (const x of support) for (let j = 0; j < f; j++) sq += x[j] * x[j]
  const meanSq = sq / Math.max(1, support.length)
  // All-zero features leave nothing to scale by; the plain prototype head (all zeros too) is the start.
  if (!(meanSq > 0)) return head
  for (let i = 0; i < head.weight.length; i++) head.weight[i] /= meanSq
  for (let n = 0; n < ways; n++) head.bias[n] /= meanSq
  return head
}

/**
 * The original head's row for a class whose name is one of the model's labels, otherwise PyTorch's
 * default initialisation (uniform in +-1/sqrt(F)) from a fixed seed. The original rows read the
 * head's input: on any other feature tensor every row starts from the default initialisation.
 */
export function labelRowsHead(model: LoadedModel, head: ClassifierHead, features: FeatureRef & { headInput: boolean }, classes: string[]): HeadWeights {
  const f = features.width
  const onHeadInput = features.headInput && f === head.featureDim
  const original = onHeadInput ? headValues(model, head) : null
  const labels = onHeadInput ? (model.labels ?? []) : []
  const random = seededRandom(0)
  const bound = 1 / Math.sqrt(f)
  const weight = new Float32Array(classes.length * f)
  const bias = new Float32Array(classes.length)
  classes.forEach((c, n) => {
    const i = labels.findIndex((l) => l === c || folderSafe(l) === c)
    for (let j = 0; j < f; j++) weight[n * f + j] = original && i >= 0 ? original.weight[i * f + j] : (random.float() * 2 - 1) * bound
    bias[n] = original && i >= 0 ? original.bias[i] : (random.float() * 2 - 1) * bound
  })
  return { weight, bias }
}
