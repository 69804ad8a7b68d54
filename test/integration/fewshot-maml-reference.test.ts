import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { floatTensor, OrtSession, type Feeds } from '../../src/main/engine/exec/ort'
import { oneHot } from '../../src/main/engine/fewshot/data/batch'
import type { Net } from '../../src/main/engine/fewshot/net'
import { buildUnrolled, QUERY, QUERY_LABELS, SUPPORT, SUPPORT_LABELS, type GradientOrder } from '../../src/main/engine/fewshot/unroll'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { readOnnxModel } from '../../src/main/engine/onnx/model-file'
import { maxOf } from '../../src/shared/stats'

/**
 * MAML's meta-gradient against PyTorch autograd (create_graph=True, float64) on a committed small conv
 * net with batch-statistics BatchNormalization: 2 inner steps on every parameter, alpha 0.4, 3-way
 * 2-shot, 3 queries per class (scripts/fixtures/make_maml_fixture.py). The whole unrolled loop and its
 * second-order gradient are one onnxruntime graph compiled by our autodiff.
 */
const dir = join(__dirname, '../fixtures/fewshot/maml2')
interface Tensor {
  dims: number[]
  data: number[]
}
interface Case {
  alpha: number
  steps: number
  ways: number
  support: Tensor
  supportLabels: number[]
  query: Tensor
  queryLabels: number[]
  params: Record<string, Tensor>
  secondOrder: Record<string, number[]>
  firstOrder: Record<string, number[]>
  supportLosses: number[]
  queryLoss: number
  queryLogits: number[]
}
const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case

async function fixtureNet(): Promise<Net> {
  const { model } = await readOnnxModel(join(dir, 'model.onnx'))
  const index = new GraphIndex(model)
  const gemm = index.producer.get('logits')!
  return {
    model,
    inputName: 'image',
    inputChw: c.support.dims.slice(1) as [number, number, number],
    logitsName: 'logits',
    featuresName: gemm.inputs[0],
    featureDim: c.params['fc.weight'].dims[1],
    params: Object.keys(c.params),
    headParams: ['fc.weight', 'fc.bias']
  }
}

async function metaGradient(order: GradientOrder) {
  const net = await fixtureNet()
  const graph = await buildUnrolled({
    net,
    metaParams: net.params,
    inner: net.params,
    steps: c.steps,
    alpha: c.alpha,
    order,
    headInit: 'params',
    ways: c.ways,
    supportBatch: c.supportLabels.length,
    queryBatch: c.queryLabels.length
  })
  const session = await OrtSession.create(graph.bytes, 'maml2', { intraOpThreads: 1 })
  const feeds: Feeds = {
    [SUPPORT]: floatTensor(Float32Array.from(c.support.data), c.support.dims),
    [SUPPORT_LABELS]: floatTensor(oneHot(c.supportLabels, c.ways), [c.supportLabels.length, c.ways]),
    [QUERY]: floatTensor(Float32Array.from(c.query.data), c.query.dims),
    [QUERY_LABELS]: floatTensor(oneHot(c.queryLabels, c.ways), [c.queryLabels.length, c.ways])
  }
  for (const [name, t] of Object.entries(c.params)) feeds[name] = floatTensor(Float32Array.from(t.data), t.dims)
  const out = await session.run(feeds)
  await session.release()
  const grads = new Map(net.params.map((p, i) => [p, out[graph.grads[i]].data as Float32Array]))
  return { out, graph, grads }
}

/** max |ours - torch| / max |torch| per tensor; tensors torch says are zero (conv biases before batch-statistics BN) must be ~0. */
function compare(ours: Map<string, Float32Array>, ref: Record<string, number[]>): number {
  let worst = 0
  for (const [name, r] of Object.entries(ref)) {
    const a = ours.get(name)!
    expect(a.length, name).toBe(r.length)
    const scale = maxOf(r.map(Math.abs))
    const err = maxOf(r.map((v, i) => Math.abs(a[i] - v)))
    if (scale < 1e-6) expect(err, `${name}: torch's gradient is 0`).toBeLessThan(1e-4)
    else worst = Math.max(worst, err / scale)
  }
  return worst
}

describe('MAML meta-gradient vs PyTorch autograd', () => {
  it('second order (create_graph=True) through 2 inner steps: max relative error <= 1e-3', async () => {
    const { out, graph, grads } = await metaGradient('second')
    const losses = graph.supportLosses.map((l) => (out[l].data as Float32Array)[0])
    losses.forEach((l, i) => expect(l).toBeCloseTo(c.supportLosses[i], 4))
    expect((out[graph.queryLoss].data as Float32Array)[0]).toBeCloseTo(c.queryLoss, 4)
    const logits = out[graph.queryLogits].data as Float32Array
    c.queryLogits.forEach((v, i) => expect(Math.abs(logits[i] - v)).toBeLessThan(1e-3))
    const rel = compare(grads, c.secondOrder)
    expect(rel).toBeLessThan(1e-3)
    // The second-order terms are large here (|2nd - 1st| ~ |2nd|): a first-order result cannot pass.
    expect(compare(grads, c.firstOrder) > 0.1 || Math.abs(grads.get('fc.weight')![0] - c.firstOrder['fc.weight'][0]) > 1e-2).toBe(true)
  })

  it('first order: the query gradient at the adapted weights', async () => {
    const { grads } = await metaGradient('first')
    expect(compare(grads, c.firstOrder)).toBeLessThan(1e-3)
  })
})
