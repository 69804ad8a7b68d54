import { describe, expect, it } from 'vitest'
import { imprintHead, imprintRows, levelBiases, meanRowNorm, refineNewRows, separateRows, supportCentre } from '../../src/main/engine/fewshot/adapt/imprint'
import { ApiError } from '../../src/shared/errors'
import { maxOf, minOf } from '../../src/shared/stats'

/**
 * Weight imprinting against an independent computation: plain nested arrays, the formulas written
 * out again, and the refinement's gradient checked by finite differences of the loss.
 */
const F = 6
const K = 4
/** A seeded generator (LCG), so the numbers are the same on every run. */
function random(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1664525 + 1013904223) % 2 ** 32
    return s / 2 ** 32
  }
}
const r = random(7)
const old = { weight: Float32Array.from({ length: K * F }, () => r() * 2 - 1), bias: Float32Array.from({ length: K }, () => r() - 0.5) }
// Post-ReLU-like features: non-negative, 3 new classes with 2, 3 and 1 shots.
const labels = Int32Array.from([0, 0, 1, 1, 1, 2])
const support = Array.from(labels, () => Float32Array.from({ length: F }, () => Math.max(0, r() * 3 - 1)))
const classes = ['a', 'b', 'c']

const rowsOf = (flat: ArrayLike<number>, f: number) => Array.from({ length: flat.length / f }, (_, i) => Array.from(flat).slice(i * f, (i + 1) * f))
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
const scaled = (v: number[], k: number) => v.map((x) => x * k)
const mean = (vs: number[][]) => vs[0].map((_, j) => vs.reduce((s, v) => s + v[j], 0) / vs.length)
const dotv = (a: number[], b: ArrayLike<number>) => a.reduce((s, x, j) => s + x * b[j], 0)

/** Mean softmax cross-entropy over old + new classes on the support set, new rows given as nested arrays. */
function loss(newRows: number[][], newBias: ArrayLike<number>): number {
  const oldRows = rowsOf(old.weight, F)
  let total = 0
  support.forEach((x, i) => {
    const z = [...oldRows.map((w, c) => dotv(w, x) + old.bias[c]), ...newRows.map((w, c) => dotv(w, x) + newBias[c])]
    const m = maxOf(z)
    total += Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) + m - z[K + labels[i]]
  })
  return total / support.length
}

describe('weight imprinting', () => {
  it('the scale is the mean norm of the old rows', () => {
    const expected = rowsOf(old.weight, F).reduce((s, w) => s + norm(w), 0) / K
    expect(meanRowNorm(old.weight, K, F)).toBeCloseTo(expected, 6)
  })

  it('each new row is the normalised mean of its normalised support features, times the scale', () => {
    const scale = 1.7
    const rows = rowsOf(imprintRows(support, labels, classes, F, scale), F)
    classes.forEach((_, n) => {
      const mine = support.filter((_, i) => labels[i] === n).map((x) => Array.from(x)).map((v) => scaled(v, 1 / norm(v)))
      const m = mean(mine)
      const expected = scaled(m, scale / norm(m))
      rows[n].forEach((v, j) => expect(v).toBeCloseTo(expected[j], 5))
      expect(norm(rows[n])).toBeCloseTo(scale, 5)
    })
  })

  it('each separated row is the mean old row plus the imprinted row\'s part outside the old rows\' span, at the scale', () => {
    const scale = 1.3
    const imprinted = imprintRows(support, labels, classes, F, 1)
    const rows = rowsOf(separateRows(old, imprinted, F, scale), F)
    const oldRows = rowsOf(old.weight, F)
    const wbar = mean(oldRows)
    // The projection onto the old rows' span by the normal equations (G c = W v), solved by Gaussian elimination.
    const project = (v: number[]) => {
      const a = oldRows.map((wi) => [...oldRows.map((wj) => dotv(wi, wj)), dotv(wi, v)])
      for (let i = 0; i < K; i++) {
        for (let r = i + 1; r < K; r++) {
          const q = a[r][i] / a[i][i]
          for (let c = i; c <= K; c++) a[r][c] -= q * a[i][c]
        }
      }
      const c = new Array<number>(K).fill(0)
      for (let i = K - 1; i >= 0; i--) c[i] = (a[i][K] - a[i].slice(i + 1, K).reduce((s, x, j) => s + x * c[i + 1 + j], 0)) / a[i][i]
      return wbar.map((_, j) => oldRows.reduce((s, w, k) => s + c[k] * w[j], 0))
    }
    rowsOf(imprinted, F).forEach((v, n) => {
      const p = project(v)
      const residual = v.map((x, j) => x - p[j])
      const expected = residual.map((x, j) => wbar[j] + (scale * x) / norm(residual))
      rows[n].forEach((x, j) => expect(x).toBeCloseTo(expected[j], 5))
      // Its own part is orthogonal to every old row.
      for (const w of oldRows) expect(dotv(w, rows[n].map((x, j) => x - wbar[j]))).toBeCloseTo(0, 5)
    })
    // With as many old rows as features nothing is left outside their span: the imprinted row is kept.
    const square = { weight: Float32Array.from({ length: F * F }, (_, i) => (i % (F + 1) === 0 ? 1 + r() : r() * 0.1)), bias: new Float32Array(F) }
    expect(Array.from(separateRows(square, imprinted, F, scale))).toEqual(Array.from(imprinted))
  })

  it('each bias puts its row level with the lowest old logit at the mean of the class means', () => {
    const rows = imprintRows(support, labels, classes, F, 1)
    const centre = supportCentre(support, labels, classes.length, F)
    const classMeans = classes.map((_, n) => mean(support.filter((_, i) => labels[i] === n).map((x) => Array.from(x))))
    const expectedCentre = mean(classMeans)
    Array.from(centre).forEach((v, j) => expect(v).toBeCloseTo(expectedCentre[j], 6))
    const bias = levelBiases(old, rows, centre, F)
    const oldLogits = rowsOf(old.weight, F).map((w, c) => dotv(w, expectedCentre) + old.bias[c])
    const level = minOf(oldLogits)
    expect(level).toBeLessThan(maxOf(oldLogits))
    rowsOf(rows, F).forEach((w, n) => {
      expect(bias[n]).toBeCloseTo(level - dotv(w, expectedCentre), 5)
      // At the centre the new row's logit is the old rows' lowest logit.
      expect(dotv(w, expectedCentre) + bias[n]).toBeCloseTo(level, 5)
    })
  })

  it('one refinement step is the loss gradient on the new rows (finite differences), and the loss is reported before each step', () => {
    const rows = imprintRows(support, labels, classes, F, meanRowNorm(old.weight, K, F))
    const bias = levelBiases(old, rows, supportCentre(support, labels, 3, F), F)
    const rate = 0.05
    const { rows: stepped, losses } = refineNewRows(old, rows, bias, support, labels, F, 1, rate)
    const start = rowsOf(rows, F)
    expect(losses[0]).toBeCloseTo(loss(start, bias), 5)
    const h = 1e-4
    const after = rowsOf(stepped, F)
    start.forEach((w, n) =>
      w.forEach((_, j) => {
        const plus = start.map((row) => [...row])
        const minus = start.map((row) => [...row])
        plus[n][j] += h
        minus[n][j] -= h
        const grad = (loss(plus, bias) - loss(minus, bias)) / (2 * h)
        expect(after[n][j]).toBeCloseTo(start[n][j] - rate * grad, 4)
      })
    )
    const { losses: many } = refineNewRows(old, rows, bias, support, labels, F, 20, rate)
    expect(many).toHaveLength(20)
    expect(many[19]).toBeLessThan(many[0])
  })

  it('the whole head: old rows and biases byte for byte, refinement leaves every bias alone', () => {
    const plain = imprintHead(old, support, labels, classes, F, 0, 0.1)
    const refined = imprintHead(old, support, labels, classes, F, 10, 0.1)
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    for (const h of [plain, refined]) {
      expect(h.head.weight).toHaveLength((K + 3) * F)
      expect(bytes(h.head.weight.subarray(0, K * F)).equals(bytes(old.weight))).toBe(true)
      expect(bytes(h.head.bias.subarray(0, K)).equals(bytes(old.bias))).toBe(true)
    }
    expect(bytes(refined.head.bias).equals(bytes(plain.head.bias))).toBe(true)
    expect(bytes(refined.head.weight.subarray(K * F)).equals(bytes(plain.head.weight.subarray(K * F)))).toBe(false)
    const expectedRows = separateRows(old, imprintRows(support, labels, classes, F, plain.scale), F, plain.scale)
    expect(bytes(plain.head.weight.subarray(K * F)).equals(bytes(expectedRows))).toBe(true)
    expect(plain.losses).toEqual([])
    expect(refined.losses).toHaveLength(10)
    expect(plain.scale).toBeCloseTo(meanRowNorm(old.weight, K, F), 6)
  })

  it('a class whose support features are all zero is named', () => {
    const zeros = [new Float32Array(F), new Float32Array(F), ...support.slice(2)]
    let err: unknown
    try {
      imprintRows(zeros, labels, classes, F, 1)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).details).toMatchObject({ constraint: 'zero-features', value: 'a' })
    expect((err as ApiError).message).toMatch(/"a" has all-zero features/)
  })
})
