import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { randomValues, rng, seededLoss } from '../oracles/vjp-check'
import { buildBackward } from '../../src/main/engine/autodiff/walker'
import { floatTensor, OrtSession, type Feeds } from '../../src/main/engine/exec/ort'
import { encodeAttributes, GraphBuilder, valueInfo, type BuilderAttr } from '../../src/main/engine/onnx/builder'
import { inferElemTypes } from '../../src/main/engine/onnx/elem-types'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { encodeTensor, f32, i64, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'
import { maxOf } from '../../src/shared/stats'

/**
 * The engine builds a backward graph once, from shapes probed at batch 2, and runs it at any batch.
 * checkVjp builds and runs at one batch, so a rule that bakes the probed batch into a constant would
 * pass there. Here the graph's batch axis is dynamic, the backward graph is built from batch-2 shapes
 * and evaluated at batch 3 against central finite differences at batch 3.
 */

const DT = onnx.TensorProto.DataType
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)

interface Operand {
  name: string
  /** Dims at batch 2 when `batched` (axis 0 is the dynamic batch), else fixed. */
  dims: number[]
  batched?: boolean
  constant?: ConstTensor
  values?: (dims: number[], rand: () => number) => Float32Array
}

interface Spec {
  opType: string
  attrs?: Record<string, BuilderAttr>
  inputs: Operand[]
  outputs?: number
  opset?: number
}

async function checkAtBatch3(spec: Spec): Promise<number> {
  const rand = rng(99)
  const opset = spec.opset ?? 13
  const outputs = Array.from({ length: spec.outputs ?? 1 }, (_, i) => `y${i}`)
  const at = (o: Operand, batch: number) => (o.batched ? [batch, ...o.dims.slice(1)] : o.dims)
  const varying = spec.inputs.filter((o) => !o.constant)
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'batch',
      node: [onnx.NodeProto.create({ name: 'under_test', opType: spec.opType, input: spec.inputs.map((o) => o.name), output: outputs, attribute: encodeAttributes(spec.attrs ?? {}) })],
      input: varying.map((o) => valueInfo(o.name, DT.FLOAT, o.batched ? ['N', ...o.dims.slice(1)] : o.dims)),
      initializer: spec.inputs.filter((o) => o.constant).map((o) => encodeTensor(o.name, o.constant!)),
      output: outputs.map((o) => onnx.ValueInfoProto.create({ name: o, type: { tensorType: { elemType: DT.FLOAT } } }))
    }
  })
  const bytes = onnx.ModelProto.encode(model).finish()
  const forward = await OrtSession.create(bytes, 'forward', { intraOpThreads: 1 })
  const feedsAt = (batch: number) => {
    const feeds: Feeds = {}
    for (const o of varying) {
      const dims = at(o, batch)
      feeds[o.name] = floatTensor(o.values ? o.values(dims, rand) : randomValues(size(dims), rand), dims)
    }
    return feeds
  }

  // Probe at batch 2, as the engine does.
  const probe = await forward.run(feedsAt(2))
  const shapes = new Map<string, number[]>()
  for (const o of spec.inputs) shapes.set(o.name, o.constant ? o.constant.dims : at(o, 2))
  for (const o of outputs) shapes.set(o, [...probe[o].dims])
  const decoded = onnx.ModelProto.decode(bytes)
  const index = new GraphIndex(decoded)
  const b = new GraphBuilder(decoded)
  const seeds = new Map<string, string>()
  for (const o of outputs) seeds.set(o, b.addInput(`seed_${o}`, DT.FLOAT, ['N', ...shapes.get(o)!.slice(1)]))
  const wrt = varying.map((o) => o.name)
  const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds })
  b.setOutputs(wrt.map((w) => grads.get(w)!))
  const backward = await OrtSession.create(b.encode(), 'backward', { intraOpThreads: 1 })

  // Evaluate at batch 3.
  const feeds = feedsAt(3)
  const base = await forward.run(feeds)
  const r = new Map<string, Float32Array>()
  for (const o of outputs) {
    const dims = [...base[o].dims]
    r.set(o, randomValues(size(dims), rand, 0))
    feeds[`seed_${o}`] = floatTensor(r.get(o)!, dims)
  }
  const analytic = await backward.run(feeds)
  const loss = async (f: Feeds) => seededLoss(await forward.run(f), r)
  let worst = 0
  for (const w of wrt) {
    const v = feeds[w].data as Float32Array
    const dims = [...feeds[w].dims]
    const g = analytic[grads.get(w)!]
    expect([...g.dims], `gradient of ${w} has the input's batch-3 shape`).toEqual(dims)
    const numeric: number[] = []
    const errors: number[] = []
    for (let c = 0; c < v.length; c++) {
      const plus = v.slice()
      const minus = v.slice()
      plus[c] += 1e-2
      minus[c] -= 1e-2
      const n = ((await loss({ ...feeds, [w]: floatTensor(plus, dims) })) - (await loss({ ...feeds, [w]: floatTensor(minus, dims) }))) / 2e-2
      numeric.push(n)
      errors.push(Math.abs(n - (g.data as Float32Array)[c]))
    }
    worst = Math.max(worst, maxOf(errors) / Math.max(1, maxOf(numeric.map(Math.abs))))
  }
  await forward.release()
  await backward.release()
  return worst
}

const batched = (name: string, dims: number[], values?: Operand['values']): Operand => ({ name, dims, batched: true, ...(values ? { values } : {}) })
const fixed = (name: string, dims: number[]): Operand => ({ name, dims })
const konst = (name: string, c: ConstTensor): Operand => ({ name, dims: c.dims, constant: c })
const r0 = rng(5)
const cf = (dims: number[]) => f32(randomValues(size(dims), r0), dims)
/** Distinct values 0.05 apart, shuffled, so max pooling never flips its argmax under the FD step. */
const distinct = (dims: number[], rand: () => number) => {
  const v = Array.from({ length: size(dims) }, (_, i) => i * 0.05 - 1)
  for (let i = v.length - 1; i > 0; i--) {
    const j = Math.floor(((rand() + 1) / 2) * (i + 1)) % (i + 1)
    ;[v[i], v[j]] = [v[j], v[i]]
  }
  return Float32Array.from(v)
}

const CASES: [string, Spec][] = [
  ['Conv grouped with weights and bias', { opType: 'Conv', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 2 }, inputs: [batched('x', [2, 4, 5, 5]), fixed('w', [4, 2, 3, 3]), fixed('b', [4])] }],
  ['Conv depthwise', { opType: 'Conv', attrs: { kernel_shape: [3, 3], group: 3, pads: [1, 1, 1, 1] }, inputs: [batched('x', [2, 3, 4, 4]), fixed('w', [3, 1, 3, 3])] }],
  ['MaxPool k3 s2 p1', { opType: 'MaxPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, inputs: [batched('x', [2, 2, 5, 5], distinct)] }],
  ['AveragePool k3 s2 p1 ceil', { opType: 'AveragePool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }, inputs: [batched('x', [2, 2, 6, 6])] }],
  ['GlobalAveragePool', { opType: 'GlobalAveragePool', inputs: [batched('x', [2, 3, 3, 3])] }],
  ['ReduceMean over the batch, keepdims 0', { opType: 'ReduceMean', attrs: { axes: [0, 2], keepdims: 0 }, inputs: [batched('x', [2, 3, 4])] }],
  ['ReduceSum axes [1] keepdims 0', { opType: 'ReduceSum', attrs: { keepdims: 0 }, inputs: [batched('x', [2, 3, 4]), konst('axes', i64([1]))] }],
  ['Gemm with weights and bias', { opType: 'Gemm', attrs: { transB: 1 }, inputs: [batched('a', [2, 4]), fixed('b', [3, 4]), fixed('c', [3])] }],
  ['MatMul batched with a shared weight', { opType: 'MatMul', inputs: [batched('a', [2, 3, 4]), fixed('b', [4, 2])] }],
  ['Add with a [1,3,1,1] bias', { opType: 'Add', inputs: [batched('a', [2, 3, 2, 2]), fixed('b', [1, 3, 1, 1])] }],
  ['Mul with a batch-1 operand', { opType: 'Mul', inputs: [batched('a', [2, 3]), fixed('b', [1, 3])] }],
  ['Flatten', { opType: 'Flatten', inputs: [batched('x', [2, 2, 3])] }],
  ['Reshape [0, -1]', { opType: 'Reshape', inputs: [batched('x', [2, 2, 3]), konst('shape', i64([0, -1]))] }],
  ['Concat axis 1', { opType: 'Concat', attrs: { axis: 1 }, inputs: [batched('a', [2, 2]), batched('b', [2, 3])] }],
  ['Split axis 1', { opType: 'Split', attrs: { axis: 1 }, inputs: [batched('x', [2, 4])], outputs: 2 }],
  ['Slice axis 2', { opType: 'Slice', inputs: [batched('x', [2, 2, 5]), konst('s', i64([1])), konst('e', i64([4])), konst('a', i64([2]))] }],
  ['Pad spatial', { opType: 'Pad', inputs: [batched('x', [2, 2, 3]), konst('pads', i64([0, 0, 1, 0, 1, 2]))] }],
  ['Softmax axis 1', { opType: 'Softmax', attrs: { axis: 1 }, inputs: [batched('x', [2, 5])] }],
  ['BatchNormalization', { opType: 'BatchNormalization', inputs: [batched('x', [2, 3, 2, 2]), konst('s', cf([3])), konst('b', cf([3])), konst('m', cf([3])), konst('v', f32([0.5, 1, 2], [3]))] }],
  ['LayerNormalization', { opType: 'LayerNormalization', opset: 17, inputs: [batched('x', [2, 3, 4]), fixed('scale', [4]), fixed('bias', [4])] }],
  ['InstanceNormalization', { opType: 'InstanceNormalization', inputs: [batched('x', [2, 2, 3, 3]), fixed('scale', [2]), fixed('bias', [2])] }],
  ['Gather axis 1', { opType: 'Gather', attrs: { axis: 1 }, inputs: [batched('x', [2, 4, 3]), konst('i', i64([0], []))] }],
  ['Add with a [1,1,4] operand (broadcast over the batch)', { opType: 'Add', inputs: [batched('a', [2, 3, 4]), fixed('b', [1, 1, 4])] }],
  ['Resize linear x2', { opType: 'Resize', attrs: { mode: 'linear' }, inputs: [batched('x', [2, 2, 3, 3]), konst('roi', f32([], [0])), konst('scales', f32([1, 1, 2, 2], [4]))] }],
  ['Transpose', { opType: 'Transpose', attrs: { perm: [0, 2, 1] }, inputs: [batched('x', [2, 3, 4])] }],
  ['Unsqueeze', { opType: 'Unsqueeze', inputs: [batched('x', [2, 3]), konst('axes', i64([1]))] }]
]

describe('VJP rules at a batch other than the probed one', () => {
  for (const [title, spec] of CASES) it(title, async () => expect(await checkAtBatch3(spec)).toBeLessThan(1e-3))
})
