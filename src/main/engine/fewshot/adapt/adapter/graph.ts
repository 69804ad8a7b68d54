import { onnx } from 'onnx-proto'
import { buildBackward } from '../../../autodiff/walker'
import { probeAll, type Shapes } from '../../../exec/probe'
import { floatTensor, type Feeds } from '../../../exec/ort'
import { GraphBuilder } from '../../../onnx/builder'
import { inferElemTypes } from '../../../onnx/elem-types'
import { GraphIndex } from '../../../onnx/ir'
import { DataType } from '../../../onnx/tensor-data'
import { softmaxCrossEntropy } from '../../../train/loss'
import { recordLossShapes } from '../../unroll'

/**
 * One meta-training episode of the feature adapter as one ONNX graph (one onnxruntime run per
 * episode): the frozen embeddings go through the adapter, g = f A (A [F, F']); the head starts as
 * adaptation's Proto-MAML start on g (the prototype head divided by the support's mean |g|^2, exactly
 * temperedPrototypeHead); `steps` gradient steps at `innerRate` on the head (exactly ANIL's test-time
 * steps, as adaptHead takes them); then the query loss and its gradient with respect to A.
 *
 * Order 'first' (fo-Proto-MAML, Triantafillou et al. 2020): the inner steps' increments are constants
 * to the outer gradient, W_K = W_0(A) + stop(W_K - W_0), so the gradient still reaches A through the
 * query features, the prototypes and the temperature, but not through the 100 inner gradients.
 * 'second' differentiates through the inner steps too (the autodiff differentiates its own gradients).
 */
export type AdapterOrder = 'first' | 'second'

export interface AdapterGraphSpec {
  inWidth: number
  outWidth: number
  ways: number
  supportBatch: number
  queryBatch: number
  steps: number
  innerRate: number
  order: AdapterOrder
}

export const ADAPTER = 'adapter'
export const A_SUPPORT = 'support'
export const A_SUPPORT_LABELS = 'support_labels'
export const A_QUERY = 'query'
export const A_QUERY_LABELS = 'query_labels'

export interface AdapterGraph {
  bytes: Uint8Array
  queryLoss: string
  queryLogits: string
  /** Support loss before each inner step. */
  supportLosses: string[]
  /** d queryLoss / d A, [F, F']. */
  grad: string
}

/** A float that passes unchanged but carries no gradient: Cast is non-differentiable to the walker. */
const stop = (b: GraphBuilder, t: string) => b.op('Cast', [t], { to: DataType.FLOAT })

export async function buildAdapterGraph(spec: AdapterGraphSpec): Promise<AdapterGraph> {
  const { inWidth: f, outWidth: g, ways: n, supportBatch: s, queryBatch: q } = spec
  const base = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'metascope',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 15 })],
    graph: onnx.GraphProto.create({ name: 'adapter-episode', node: [], input: [], output: [], initializer: [] })
  })
  const b = new GraphBuilder(base, '__ms_adapter')
  const shapes: Shapes = new Map()
  const input = (name: string, dims: number[]) => {
    b.addInput(name, DataType.FLOAT, dims)
    shapes.set(name, dims)
    return name
  }
  const shaped = (t: string, dims: number[]) => {
    shapes.set(t, dims)
    return t
  }
  input(ADAPTER, [f, g])
  input(A_SUPPORT, [s, f])
  input(A_SUPPORT_LABELS, [s, n])
  input(A_QUERY, [q, f])
  input(A_QUERY_LABELS, [q, n])

  const gs = shaped(b.op('MatMul', [A_SUPPORT, ADAPTER]), [s, g])
  const gq = shaped(b.op('MatMul', [A_QUERY, ADAPTER]), [q, g])
  // Class means: one-hot^T g / per-class counts (the labels are inputs: no gradient flows into them).
  const labelsT = b.op('Transpose', [A_SUPPORT_LABELS], { perm: [1, 0] })
  const counts = b.op('Transpose', [b.reduce('ReduceSum', A_SUPPORT_LABELS, [0], 1)], { perm: [1, 0] })
  const protos = b.op('Div', [b.op('MatMul', [labelsT, gs]), counts])
  const temperature = b.reduce('ReduceMean', b.reduce('ReduceSum', b.op('Mul', [gs, gs]), [1], 0), [0], 0)
  const w0 = shaped(b.op('Div', [b.op('Mul', [protos, b.constF32([2], [])]), temperature]), [n, g])
  const b0 = shaped(b.op('Div', [b.op('Neg', [b.reduce('ReduceSum', b.op('Mul', [protos, protos]), [1], 0)]), temperature]), [n])

  const alpha = b.constF32([spec.innerRate], [])
  let w = w0
  let bias = b0
  const supportLosses: string[] = []
  for (let step = 0; step < spec.steps; step++) {
    const logits = shaped(b.op('Gemm', [gs, w, bias], { transB: 1 }), [s, n])
    const loss = softmaxCrossEntropy(b, logits, A_SUPPORT_LABELS)
    recordLossShapes(b, shapes, loss, s, n)
    supportLosses.push(loss)
    const index = new GraphIndex(b.build())
    const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt: [w, bias], seeds: new Map([[loss, b.constF32([1], [])]]) })
    w = shaped(b.op('Sub', [w, b.op('Mul', [grads.get(w)!, alpha])]), [n, g])
    bias = shaped(b.op('Sub', [bias, b.op('Mul', [grads.get(bias)!, alpha])]), [n])
  }
  if (spec.order === 'first' && spec.steps > 0) {
    w = shaped(b.op('Add', [w0, stop(b, b.op('Sub', [w, w0]))]), [n, g])
    bias = shaped(b.op('Add', [b0, stop(b, b.op('Sub', [bias, b0]))]), [n])
  }
  const queryLogits = shaped(b.op('Gemm', [gq, w, bias], { transB: 1 }), [q, n])
  const queryLoss = softmaxCrossEntropy(b, queryLogits, A_QUERY_LABELS)

  // The outer backward walks ops whose shapes only a probe of the whole graph knows (the inner gradients' own).
  const index = new GraphIndex(b.build())
  const all = await probeAll(index, sampleFeeds(spec), 'adapter episode')
  const grads = buildBackward({ index, builder: b, shapes: all, types: inferElemTypes(index), wrt: [ADAPTER], seeds: new Map([[queryLoss, b.constF32([1], [])]]) })
  const grad = grads.get(ADAPTER)!
  b.setOutputs([queryLoss, queryLogits, ...supportLosses, grad])
  return { bytes: b.encode(), queryLoss, queryLogits, supportLosses, grad }
}

/** Feeds of the right dims for the shape probe; values only need to keep the run finite. */
function sampleFeeds(spec: AdapterGraphSpec): Feeds {
  const { inWidth: f, outWidth: g, ways: n, supportBatch: s, queryBatch: q } = spec
  const values = (len: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 12.9898) * 0.5 + 0.6)
  const oneHot = (rows: number) => Float32Array.from({ length: rows * n }, (_, i) => (i % n === Math.floor(i / n) % n ? 1 : 0))
  return {
    [ADAPTER]: floatTensor(values(f * g), [f, g]),
    [A_SUPPORT]: floatTensor(values(s * f), [s, f]),
    [A_SUPPORT_LABELS]: floatTensor(oneHot(s), [s, n]),
    [A_QUERY]: floatTensor(values(q * f), [q, f]),
    [A_QUERY_LABELS]: floatTensor(oneHot(q), [q, n])
  }
}
