import { describe, expect, it } from 'vitest'
import { symmetricEigen, topEigenpair } from '../../src/main/engine/cam/methods/symmetric-eigen'
import { rng } from '../oracles/vjp-check'

/**
 * KPCA-CAM's eigen-solver (tred2 + tql2) on random symmetric matrices, indefinite like a centred
 * sigmoid kernel can be: A v = lambda v for every pair, the vectors orthonormal, the values ascending.
 * (test/integration/cam-more-methods.test.ts holds the whole KPCA-CAM to numpy's eigh.)
 */
describe('symmetricEigen', () => {
  for (const n of [1, 2, 5, 64, 150]) {
    it(`n = ${n}`, () => {
      const r = rng(n)
      const a = new Float64Array(n * n)
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r()
      // A repeated eigenvalue too (a block of the identity), which QL must still split cleanly.
      if (n >= 5) for (let i = 0; i < 3; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[j * n + i] = i === j ? 2 : 0
      const { values, vectors } = symmetricEigen(a, n)
      for (let j = 1; j < n; j++) expect(values[j]).toBeGreaterThanOrEqual(values[j - 1])
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          let av = 0
          for (let k = 0; k < n; k++) av += a[i * n + k] * vectors[k * n + j]
          expect(Math.abs(av - values[j] * vectors[i * n + j])).toBeLessThan(1e-10)
        }
        for (let l = 0; l <= j; l++) {
          let dot = 0
          for (let k = 0; k < n; k++) dot += vectors[k * n + j] * vectors[k * n + l]
          expect(Math.abs(dot - (l === j ? 1 : 0))).toBeLessThan(1e-10)
        }
      }
      if (n >= 5) expect(values.filter((v) => Math.abs(v - 2) < 1e-12).length).toBeGreaterThanOrEqual(3)
    })
  }
})

describe('topEigenpair', () => {
  // Above 256 it is Lanczos: held to the dense solver on a centred sigmoid kernel, as KPCA-CAM builds it.
  it.each([300, 450])('n = %i: the largest eigenvalue and its vector, as the dense solver finds them', (n) => {
    const r = rng(n + 1)
    const k = 16
    const x = Float64Array.from({ length: n * k }, () => Math.max(0, r()))
    const a = new Float64Array(n * n)
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let g = 0
        for (let c = 0; c < k; c++) g += x[i * k + c] * x[j * k + c]
        a[i * n + j] = a[j * n + i] = Math.tanh(g / k + 1)
      }
    }
    const row = Array.from({ length: n }, (_, i) => a.subarray(i * n, (i + 1) * n).reduce((p, v) => p + v, 0) / n)
    const all = row.reduce((p, v) => p + v, 0) / n
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += all - row[i] - row[j]
    const top = topEigenpair(a, n)
    const { values, vectors } = symmetricEigen(a, n)
    expect(Math.abs(top.value - values[n - 1])).toBeLessThan(1e-9 * Math.abs(values[n - 1]))
    let d = 0
    for (let i = 0; i < n; i++) d += top.vector[i] * vectors[i * n + n - 1]
    expect(Math.abs(Math.abs(d) - 1)).toBeLessThan(1e-9)
  }, 60_000)
})
