import { ApiError } from '../../../../shared/errors'
import type { HeadWeights } from './head-net'

/**
 * Weight imprinting (Qi, Brown & Lowe 2018, "Low-shot learning with imprinted weights") for adding
 * classes to a trained linear head: the old rows stay as they are, each new class gets one row.
 * Plain math on float64 sums, no graph: the head is small, and the old rows must come out untouched.
 * The choices and their measurements are in docs/fewshot-adapt.md ("Adding classes").
 */

/** The mean L2 norm of the old head's rows (weight [K, F]): the length every imprinted row gets. */
export function meanRowNorm(weight: Float32Array, k: number, f: number): number {
  let total = 0
  for (let r = 0; r < k; r++) {
    let sq = 0
    for (let j = 0; j < f; j++) sq += weight[r * f + j] ** 2
    total += Math.sqrt(sq)
  }
  return total / k
}

/**
 * One imprinted row per class: the normalised mean of the class's L2-normalised support features,
 * times `scale`. An all-zero feature vector has no direction and is left out of its class's mean;
 * a class with nothing else is an error naming it.
 */
export function imprintRows(support: Float32Array[], labels: Int32Array, classes: string[], f: number, scale: number): Float32Array {
  const ways = classes.length
  const sums = new Float64Array(ways * f)
  const used = new Int32Array(ways)
  support.forEach((x, i) => {
    let sq = 0
    for (let j = 0; j < f; j++) sq += x[j] * x[j]
    if (!(sq > 0)) return
    const inv = 1 / Math.sqrt(sq)
    const n = labels[i]
    used[n]++
    for (let j = 0; j < f; j++) sums[n * f + j] += x[j] * inv
  })
  const rows = new Float32Array(ways * f)
  for (let n = 0; n < ways; n++) {
    let sq = 0
    for (let j = 0; j < f; j++) sq += sums[n * f + j] ** 2
    if (!used[n] || !(sq > 0)) {
      throw new ApiError('out-of-range', `Every support image of the new class "${classes[n]}" has all-zero features, so imprinting finds no direction for it; give other images or another feature tensor.`, undefined, {
        field: 'sets',
        constraint: 'zero-features',
        value: classes[n]
      })
    }
    const k = scale / Math.sqrt(sq)
    for (let j = 0; j < f; j++) rows[n * f + j] = sums[n * f + j] * k
  }
  return rows
}

/** The mean of the new classes' support means (each class counts once, whatever its shots). */
export function supportCentre(support: Float32Array[], labels: Int32Array, ways: number, f: number): Float64Array {
  const sums = new Float64Array(ways * f)
  const counts = new Float64Array(ways)
  support.forEach((x, i) => {
    counts[labels[i]]++
    for (let j = 0; j < f; j++) sums[labels[i] * f + j] += x[j]
  })
  const centre = new Float64Array(f)
  for (let n = 0; n < ways; n++) for (let j = 0; j < f; j++) centre[j] += sums[n * f + j] / counts[n] / ways
  return centre
}

const dot = (w: Float32Array, row: number, x: ArrayLike<number>, f: number) => {
  let s = 0
  for (let j = 0; j < f; j++) s += w[row * f + j] * x[j]
  return s
}

/** v minus its projection on the orthonormal basis, twice over (one pass loses orthogonality when the basis is long). */
function removeSpan(v: Float64Array, basis: Float64Array[], f: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const e of basis) {
      let d = 0
      for (let j = 0; j < f; j++) d += v[j] * e[j]
      for (let j = 0; j < f; j++) v[j] -= d * e[j]
    }
  }
}

/**
 * The imprinted directions made comparable with the old rows: w_n = mean_k w_k + scale * normalize(r_n),
 * where r_n is the imprinted row's part outside the span of the old rows (Gram-Schmidt in float64).
 * The mean old row is the part every old logit shares, so a new logit is the old rows' mean logit plus a
 * term the old rows do not read; it beats the best old row only where that term exceeds the old model's
 * own margin (max minus mean logit), which is large on the images it knows. The plain imprinted row
 * correlates with every post-ReLU feature vector (on the demo model the normalised class means lie at
 * cosine 0.8-0.96 of each other) and takes old-class images wholesale (measured in docs/fewshot-adapt.md). When the old rows
 * leave nothing outside their span (K >= F), the plain imprinted direction is kept for that row.
 */
export function separateRows(old: HeadWeights, imprinted: Float32Array, f: number, scale: number): Float32Array {
  const k = old.bias.length
  const n = imprinted.length / f
  const basis: Float64Array[] = []
  for (let r = 0; r < k; r++) {
    const v = Float64Array.from(old.weight.subarray(r * f, (r + 1) * f))
    const before = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    removeSpan(v, basis, f)
    const len = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    if (len > 1e-9 * Math.max(before, 1e-30)) basis.push(v.map((x) => x / len))
  }
  const mean = new Float64Array(f)
  for (let r = 0; r < k; r++) for (let j = 0; j < f; j++) mean[j] += old.weight[r * f + j] / k
  const rows = new Float32Array(n * f)
  for (let r = 0; r < n; r++) {
    const v = Float64Array.from(imprinted.subarray(r * f, (r + 1) * f))
    const before = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    removeSpan(v, basis, f)
    const len = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    if (!(len > 1e-6 * before)) {
      rows.set(imprinted.subarray(r * f, (r + 1) * f), r * f)
      continue
    }
    for (let j = 0; j < f; j++) rows[r * f + j] = mean[j] + (scale * v[j]) / len
  }
  return rows
}

/**
 * The new rows' biases: each new row scores, at the support centre m, what the LOWEST old row scores
 * there, b_n = min_k(w_k . m + b_k) - w_n . m. A new class starts as the least likely old class on a
 * typical support image and wins only where an image lies further along its own row than the support
 * set does by more than the old model's spread at m. Nothing but the support set and the old head sets
 * it. The old rows' mean there (the rule before) let the new rows take 1-2 points of old-class images
 * on most support draws, the mean of the old biases nearly all of them (measured in the docs).
 */
export function levelBiases(old: HeadWeights, rows: Float32Array, centre: Float64Array, f: number): Float32Array {
  const k = old.bias.length
  const n = rows.length / f
  let level = Infinity
  for (let r = 0; r < k; r++) level = Math.min(level, dot(old.weight, r, centre, f) + old.bias[r])
  return Float32Array.from({ length: n }, (_, r) => level - dot(rows, r, centre, f))
}

export interface Refined {
  rows: Float32Array
  /** Mean support cross-entropy (over all old and new classes) before each step. */
  losses: number[]
}

/**
 * `steps` gradient steps on the new rows alone: softmax cross-entropy over all K old + N new classes
 * on the support images (labels are new-class numbers 0..N-1, i.e. classes K..K+N-1), mean over the
 * images, rate `rate`. The old rows and every bias are fixed: the biases keep the level set above.
 */
export function refineNewRows(old: HeadWeights, rows: Float32Array, bias: Float32Array, support: Float32Array[], labels: Int32Array, f: number, steps: number, rate: number): Refined {
  const k = old.bias.length
  const n = bias.length
  const w = Float64Array.from(rows)
  const losses: number[] = []
  const logits = new Float64Array(k + n)
  for (let step = 0; step < steps; step++) {
    const grad = new Float64Array(n * f)
    let loss = 0
    support.forEach((x, i) => {
      for (let r = 0; r < k; r++) logits[r] = dot(old.weight, r, x, f) + old.bias[r]
      for (let r = 0; r < n; r++) {
        let s = bias[r]
        for (let j = 0; j < f; j++) s += w[r * f + j] * x[j]
        logits[k + r] = s
      }
      let max = -Infinity
      for (const v of logits) if (v > max) max = v
      let total = 0
      for (const v of logits) total += Math.exp(v - max)
      const target = k + labels[i]
      loss += Math.log(total) + max - logits[target]
      // d loss / d logit_r = p_r - [r = target]; only the new rows' gradient is kept.
      for (let r = 0; r < n; r++) {
        const g = Math.exp(logits[k + r] - max) / total - (k + r === target ? 1 : 0)
        for (let j = 0; j < f; j++) grad[r * f + j] += g * x[j]
      }
    })
    losses.push(loss / support.length)
    for (let j = 0; j < w.length; j++) w[j] -= (rate * grad[j]) / support.length
  }
  return { rows: Float32Array.from(w), losses }
}

export interface ImprintedHead {
  /** [old rows; new rows] and [old biases; new biases]: the old values copied unchanged. */
  head: HeadWeights
  /** The length of every imprinted row (the mean norm of the old rows). */
  scale: number
  /** Support loss before each refinement step (empty without steps). */
  losses: number[]
}

/** The whole add-classes head: imprinted, separated from the old rows, levelled, optionally refined new rows after the old ones. */
export function imprintHead(old: HeadWeights, support: Float32Array[], labels: Int32Array, classes: string[], f: number, steps: number, rate: number): ImprintedHead {
  const k = old.bias.length
  const scale = meanRowNorm(old.weight, k, f)
  const imprinted = separateRows(old, imprintRows(support, labels, classes, f, scale), f, scale)
  const bias = levelBiases(old, imprinted, supportCentre(support, labels, classes.length, f), f)
  const { rows, losses } = steps > 0 ? refineNewRows(old, imprinted, bias, support, labels, f, steps, rate) : { rows: imprinted, losses: [] }
  if (!rows.every(Number.isFinite)) {
    throw new ApiError('out-of-range', `Refining the new rows diverged (support loss ${losses.map((l) => l.toPrecision(3)).join(' -> ')}); use a smaller inner learning rate than ${rate} or fewer steps.`, undefined, {
      field: 'innerRate',
      constraint: 'diverged',
      value: rate
    })
  }
  const weight = new Float32Array((k + classes.length) * f)
  weight.set(old.weight)
  weight.set(rows, k * f)
  const biases = new Float32Array(k + classes.length)
  biases.set(old.bias)
  biases.set(bias, k)
  return { head: { weight, bias: biases }, scale, losses }
}
