import { describe, expect, it } from 'vitest'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { applyAdapter, initialAdapter } from '../../src/main/engine/fewshot/adapt/adapter/file'
import { A_QUERY, A_QUERY_LABELS, A_SUPPORT, A_SUPPORT_LABELS, ADAPTER, buildAdapterGraph, type AdapterOrder } from '../../src/main/engine/fewshot/adapt/adapter/graph'
import { adaptHead } from '../../src/main/engine/fewshot/adapt/adapt-head'
import { temperedPrototypeHead } from '../../src/main/engine/fewshot/adapt/head-init'
import { headLogits } from '../../src/main/engine/fewshot/adapt/predict'
import type { FeatureTensor } from '../../src/main/engine/fewshot/adapt/features'
import type { HeadAdaptSpec } from '../../src/main/engine/fewshot/methods/head-plan'
import { oneHot } from '../../src/main/engine/fewshot/data/batch'
import { seededRandom } from '../../src/main/engine/data/random'
import { maxOf } from '../../src/shared/stats'

// A tiny episode: F = 3 features adapted to F' = 2, 2 classes, 2 shots, 2 queries each, 3 inner steps.
const [F, G, N, SHOTS, QUERIES, STEPS, RATE] = [3, 2, 2, 2, 2, 3, 0.5]
const S = N * SHOTS
const Q = N * QUERIES
const random = seededRandom(7)
const values = (n: number) => Array.from({ length: n }, () => random.float() * 2 - 0.5)
const support = values(S * F)
const query = values(Q * F)
const ys = Array.from({ length: S }, (_, i) => Math.floor(i / SHOTS))
const yq = Array.from({ length: Q }, (_, i) => Math.floor(i / QUERIES))
const A0 = values(F * G)

/** The episode in float64, as adaptation does it: tempered prototypes, plain head steps, query cross-entropy. `frozen` replaces the inner increments (first order). */
function episode(a: number[], frozen?: { dw: number[]; db: number[] }): { loss: number; dw: number[]; db: number[] } {
  const mul = (x: number[], rows: number) => Array.from({ length: rows * G }, (_, k) => {
    const [r, j] = [Math.floor(k / G), k % G]
    let s = 0
    for (let i = 0; i < F; i++) s += x[r * F + i] * a[i * G + j]
    return s
  })
  const gs = mul(support, S)
  const gq = mul(query, Q)
  const protos = Array.from({ length: N * G }, (_, k) => {
    const [n, j] = [Math.floor(k / G), k % G]
    let s = 0
    for (let r = 0; r < S; r++) if (ys[r] === n) s += gs[r * G + j]
    return s / SHOTS
  })
  const t = gs.reduce((acc, v) => acc + v * v, 0) / S
  const w0 = protos.map((c) => (2 * c) / t)
  const b0 = Array.from({ length: N }, (_, n) => -protos.slice(n * G, n * G + G).reduce((acc, c) => acc + c * c, 0) / t)
  const logits = (x: number[], rows: number, w: number[], b: number[]) => Array.from({ length: rows * N }, (_, k) => {
    const [r, n] = [Math.floor(k / N), k % N]
    let s = b[n]
    for (let j = 0; j < G; j++) s += x[r * G + j] * w[n * G + j]
    return s
  })
  const softmax = (z: number[]) => z.map((_, k) => {
    const r = Math.floor(k / N)
    const row = z.slice(r * N, r * N + N)
    const m = maxOf(row)
    return Math.exp(z[k] - m) / row.reduce((acc, v) => acc + Math.exp(v - m), 0)
  })
  let [w, b] = [w0.slice(), b0.slice()]
  for (let step = 0; step < STEPS; step++) {
    const p = softmax(logits(gs, S, w, b))
    const d = p.map((v, k) => (v - (ys[Math.floor(k / N)] === k % N ? 1 : 0)) / S)
    const gw = w.map((_, k) => {
      const [n, j] = [Math.floor(k / G), k % G]
      let s = 0
      for (let r = 0; r < S; r++) s += d[r * N + n] * gs[r * G + j]
      return s
    })
    const gb = b.map((_, n) => d.filter((_, k) => k % N === n).reduce((acc, v) => acc + v, 0))
    w = w.map((v, k) => v - RATE * gw[k])
    b = b.map((v, n) => v - RATE * gb[n])
  }
  const dw = w.map((v, k) => v - w0[k])
  const db = b.map((v, n) => v - b0[n])
  if (frozen) {
    w = w0.map((v, k) => v + frozen.dw[k])
    b = b0.map((v, n) => v + frozen.db[n])
  }
  const p = softmax(logits(gq, Q, w, b))
  const loss = -yq.reduce((acc, y, r) => acc + Math.log(p[r * N + y]), 0) / Q
  return { loss, dw, db }
}

async function graphRun(order: AdapterOrder, a: number[]): Promise<{ loss: number; grad: Float32Array }> {
  const graph = await buildAdapterGraph({ inWidth: F, outWidth: G, ways: N, supportBatch: S, queryBatch: Q, steps: STEPS, innerRate: RATE, order })
  const session = await OrtSession.create(graph.bytes, 'adapter test', { intraOpThreads: 1 })
  try {
    const out = await session.run({
      [ADAPTER]: floatTensor(Float32Array.from(a), [F, G]),
      [A_SUPPORT]: floatTensor(Float32Array.from(support), [S, F]),
      [A_SUPPORT_LABELS]: floatTensor(oneHot(ys, N), [S, N]),
      [A_QUERY]: floatTensor(Float32Array.from(query), [Q, F]),
      [A_QUERY_LABELS]: floatTensor(oneHot(yq, N), [Q, N])
    })
    return { loss: (out[graph.queryLoss].data as Float32Array)[0], grad: out[graph.grad].data as Float32Array }
  } finally {
    await session.release()
  }
}

/** Central differences of `fn` at A0, entry by entry. */
function numericGradient(fn: (a: number[]) => number, eps = 1e-5): number[] {
  return A0.map((_, i) => {
    const [up, down] = [A0.slice(), A0.slice()]
    up[i] += eps
    down[i] -= eps
    return (fn(up) - fn(down)) / (2 * eps)
  })
}

describe('adapter meta-training graph', () => {
  it('second order: the query loss and its gradient with respect to A match float64 finite differences through the inner steps', async () => {
    const { loss, grad } = await graphRun('second', A0)
    expect(loss).toBeCloseTo(episode(A0).loss, 4)
    const numeric = numericGradient((a) => episode(a).loss)
    const scale = maxOf(numeric.map(Math.abs))
    expect(scale).toBeGreaterThan(1e-3)
    numeric.forEach((v, i) => expect(Math.abs(grad[i] - v)).toBeLessThan(2e-3 * scale))
  })

  it('first order: the gradient is that of the query loss with the inner increments held fixed (it still flows through prototypes and temperature)', async () => {
    const { grad } = await graphRun('first', A0)
    const frozen = episode(A0)
    const numeric = numericGradient((a) => episode(a, frozen).loss)
    const scale = maxOf(numeric.map(Math.abs))
    numeric.forEach((v, i) => expect(Math.abs(grad[i] - v)).toBeLessThan(2e-3 * scale))
    // And it is not the second-order gradient: the inner steps matter here.
    const second = numericGradient((a) => episode(a).loss)
    expect(maxOf(second.map((v, i) => Math.abs(v - grad[i])))).toBeGreaterThan(1e-3 * scale)
  })

  it('an identity adapter leaves the Proto-MAML head adaptation unchanged', async () => {
    const f = 6
    const feats = (n: number) => Array.from({ length: n }, () => Float32Array.from(values(f)))
    const sup = feats(6)
    const qry = feats(4)
    const identity = { inWidth: f, outWidth: f, weight: initialAdapter(f, f, 0) }
    const adapted = applyAdapter(identity, sup)
    adapted.forEach((row, i) => expect(Array.from(row)).toEqual(Array.from(sup[i])))
    const spec = (support: Float32Array[], query: Float32Array[]) => ({
      model: null as unknown as HeadAdaptSpec['model'],
      head: null as unknown as HeadAdaptSpec['head'],
      features: { tensor: 'f', width: f } as FeatureTensor,
      classes: ['a', 'b', 'c'],
      steps: 10,
      method: 'protomaml' as const,
      innerRate: 0.1,
      support,
      supportLabels: Int32Array.from([0, 0, 1, 1, 2, 2]),
      query,
      queryLabels: Int32Array.from([0, 1, 2, 0])
    })
    const plain = await adaptHead(spec(sup, qry))
    const through = await adaptHead(spec(adapted, applyAdapter(identity, qry)))
    expect(Array.from(through.adapted.weight)).toEqual(Array.from(plain.adapted.weight))
    expect(Array.from(through.adapted.bias)).toEqual(Array.from(plain.adapted.bias))
    expect(temperedPrototypeHead(sup, Int32Array.from([0, 0, 1, 1, 2, 2]), 3, f).weight.length).toBe(3 * f)
  })

  it('the graph takes the same inner steps as adaptation: its query logits at A = I are the adapted head on the queries', async () => {
    const f = 4
    const sup = Array.from({ length: 4 }, () => Float32Array.from(values(f)))
    const qry = Array.from({ length: 2 }, () => Float32Array.from(values(f)))
    const { adapted } = await adaptHead({
      model: null as unknown as HeadAdaptSpec['model'],
      head: null as unknown as HeadAdaptSpec['head'],
      features: { tensor: 'f', width: f } as FeatureTensor,
      classes: ['a', 'b'],
      steps: 5,
      method: 'protomaml',
      innerRate: 0.1,
      support: sup,
      supportLabels: Int32Array.from([0, 0, 1, 1]),
      query: qry,
      queryLabels: Int32Array.from([0, 1])
    })
    const graph = await buildAdapterGraph({ inWidth: f, outWidth: f, ways: 2, supportBatch: 4, queryBatch: 2, steps: 5, innerRate: 0.1, order: 'first' })
    const session = await OrtSession.create(graph.bytes, 'adapter test', { intraOpThreads: 1 })
    const stack = (rows: Float32Array[]) => Float32Array.from(rows.flatMap((r) => Array.from(r)))
    const out = await session.run({
      [ADAPTER]: floatTensor(initialAdapter(f, f, 0), [f, f]),
      [A_SUPPORT]: floatTensor(stack(sup), [4, f]),
      [A_SUPPORT_LABELS]: floatTensor(oneHot([0, 0, 1, 1], 2), [4, 2]),
      [A_QUERY]: floatTensor(stack(qry), [2, f]),
      [A_QUERY_LABELS]: floatTensor(oneHot([0, 1], 2), [2, 2])
    })
    await session.release()
    const logits = out[graph.queryLogits].data as Float32Array
    qry.forEach((x, r) => headLogits(adapted, x).forEach((v, n) => expect(logits[r * 2 + n]).toBeCloseTo(v, 4)))
  })
})
