import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { onnx } from 'onnx-proto'
import { randomValues, rng, type CheckInput, type CheckSpec } from '../oracles/vjp-check'
import { RULES } from '../../src/main/engine/autodiff/rules'
import { buildBackward } from '../../src/main/engine/autodiff/walker'
import { floatTensor, OrtSession, type Feeds } from '../../src/main/engine/exec/ort'
import { tfjsBackend, type TfjsBackend } from '../oracles/tfjs/backend'
import { TfjsExecutor, type HostTensor } from '../oracles/tfjs/executor'
import { encodeAttributes, floatAttr, GraphBuilder, valueInfo } from '../../src/main/engine/onnx/builder'
import { inferElemTypes } from '../../src/main/engine/onnx/elem-types'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { DataType, encodeTensor, f32, i64, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'
import { distinctValues, k, x } from '../vjp-helpers'

/**
 * The VJP rules against an independent implementation: for one-node models, the backward graph our
 * autodiff emits, run by onnxruntime, against tf.grads through the tfjs executor (tfjs's own gradient
 * kernels), on the same random inputs and seeds. Both compute in float32, so they agree to rounding:
 * the bound is 1e-4 of the largest gradient entry. The forward outputs are compared too.
 */

const TOL = 1e-4
const r = rng(20261129)
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)
const rand = (dims: number[], scale = 1) => randomValues(size(dims), r).map((v) => v * scale)
const positive = (dims: number[], lo: number, hi: number) => randomValues(size(dims), r, 0).map((v) => lo + Math.abs(v) * (hi - lo))
const cf = (dims: number[], data: ArrayLike<number> = rand(dims)): ConstTensor => f32(data, dims)
const ci = (values: number[], dims: number[] = [values.length]): ConstTensor => i64(values, dims)
/** A weight, differentiated (as when training). */
const wd = (name: string, dims: number[], data?: ArrayLike<number>): CheckInput => ({ name, dims, constant: cf(dims, data), differentiate: true })
const distinct = (dims: number[], step = 0.05) => distinctValues(dims, r, step)
const INT64_MAX: ConstTensor = { dataType: DataType.INT64, dims: [1], data: BigInt64Array.from([9223372036854775807n]) }

let backend: TfjsBackend
beforeAll(async () => {
  backend = await tfjsBackend()
})

interface Compared {
  input: string
  rel: number
  maxRef: number
}

/** Max |a - b| over max |b|. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; maxRef: number } {
  expect(a.length).toBe(b.length)
  let diff = 0
  let maxRef = 0
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]))
    maxRef = Math.max(maxRef, Math.abs(b[i]))
  }
  return { rel: maxRef > 0 ? diff / maxRef : diff, maxRef }
}

/**
 * One node; inputs either fed (differentiated) or initializers; loss = sum_o <seed_o, y_o>. Returns the
 * relative difference between onnxruntime's backward graph and tf.grads for every differentiated input.
 */
async function crossCheck(spec: CheckSpec): Promise<Compared[]> {
  const outputs = Array.from({ length: spec.outputs ?? 1 }, (_, i) => `y${i}`)
  const seeded = outputs.slice(0, spec.seeded ?? outputs.length)
  const feeds: Feeds = {}
  const host: Record<string, HostTensor> = {}
  const graphInputs: onnx.ValueInfoProto[] = []
  const initializers: onnx.TensorProto[] = []
  const wrt: string[] = []
  for (const inp of spec.inputs) {
    if (!inp) continue
    if (inp.constant && !inp.differentiate) {
      initializers.push(encodeTensor(inp.name, inp.constant))
      continue
    }
    const v = inp.values ?? (inp.constant ? Float32Array.from(inp.constant.data as Float32Array) : randomValues(size(inp.dims), r))
    graphInputs.push(valueInfo(inp.name, DataType.FLOAT, inp.dims))
    feeds[inp.name] = floatTensor(v, inp.dims)
    host[inp.name] = { data: v, dims: inp.dims }
    if (inp.differentiate ?? true) wrt.push(inp.name)
  }
  const node = onnx.NodeProto.create({
    name: 'under_test',
    opType: spec.opType,
    input: spec.inputs.map((i) => i?.name ?? ''),
    output: outputs,
    attribute: encodeAttributes(spec.attrs ?? {})
  })
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
      graph: {
        name: 'cross_check',
        node: [node],
        input: graphInputs,
        initializer: initializers,
        output: seeded.map((o) => onnx.ValueInfoProto.create({ name: o, type: { tensorType: { elemType: DataType.FLOAT } } }))
      }
    })
  ).finish()
  const forward = onnx.ModelProto.decode(bytes)

  const fwd = await OrtSession.create(bytes, `${spec.opType} forward`, { intraOpThreads: 1 })
  const base = await fwd.run(feeds)
  await fwd.release()
  const shapes = new Map<string, number[]>()
  for (const inp of spec.inputs) if (inp) shapes.set(inp.name, inp.constant && !inp.differentiate ? inp.constant.dims : inp.dims)
  const seeds: Record<string, HostTensor> = {}
  const b = new GraphBuilder(forward)
  const seedNames = new Map<string, string>()
  for (const o of seeded) {
    const dims = [...base[o].dims]
    shapes.set(o, dims)
    seeds[o] = { data: randomValues(size(dims), r, 0), dims }
    seedNames.set(o, b.addInput(`seed_${o}`, DataType.FLOAT, dims))
    feeds[`seed_${o}`] = floatTensor(seeds[o].data as Float32Array, dims)
  }
  const index = new GraphIndex(forward)
  const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds: seedNames })
  b.setOutputs(wrt.map((w) => grads.get(w)!))
  const bwd = await OrtSession.create(b.encode(), `${spec.opType} backward`, { intraOpThreads: 1 })
  const ortGrads = await bwd.run(feeds)
  await bwd.release()

  const exec = await TfjsExecutor.create(forward, { backend, label: spec.opType })
  try {
    const fwdTf = exec.run(host, seeded)
    for (const o of seeded) {
      expect(fwdTf[o].dims, `${spec.opType} ${o} shape`).toEqual([...base[o].dims])
      const { rel } = relDiff(fwdTf[o].data, base[o].data as Float32Array)
      expect(rel, `${spec.opType} forward ${o}`).toBeLessThan(TOL)
    }
    const tf = exec.gradients({ feeds: host, wrt, seeds })
    return wrt.map((w) => {
      const ref = tf.grads[w]
      expect(ref.dims, `${spec.opType} d/d${w} shape`).toEqual(host[w].dims)
      return { input: w, ...relDiff(ortGrads[grads.get(w)!].data as Float32Array, ref.data) }
    })
  } finally {
    exec.dispose()
  }
}

const covered = new Set<string>()

/** A case: every differentiated input's ORT gradient equals tf.grad's within TOL (and is not all zero). */
function agree(title: string, spec: () => CheckSpec, expectedInputs?: string[]) {
  const s = spec()
  covered.add(s.opType)
  it(`${s.opType}: ${title}`, async () => {
    const results = await crossCheck(s)
    if (expectedInputs) expect(results.map((c) => c.input)).toEqual(expectedInputs)
    expect(results.length).toBeGreaterThan(0)
    for (const c of results) {
      expect(c.rel, `${s.opType} d/d${c.input}`).toBeLessThan(TOL)
      expect(c.maxRef, `${s.opType} d/d${c.input}: tf.grad gave no gradient`).toBeGreaterThan(0)
    }
  })
}

describe('Conv and ConvTranspose', () => {
  const conv = (xDims: number[], wDims: number[], attrs: CheckSpec['attrs'], bias = true): CheckSpec => ({
    opType: 'Conv',
    attrs,
    inputs: [x('x', xDims), wd('w', wDims), ...(bias ? [wd('b', [wDims[0]])] : [])]
  })
  agree('k3 s1 p1 (x, w, b)', () => conv([2, 4, 7, 7], [6, 4, 3, 3], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), ['x', 'w', 'b'])
  agree('k3 s2 p1 on 8x8', () => conv([2, 3, 8, 8], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }))
  agree('asymmetric pads, stride 2', () => conv([2, 3, 7, 8], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 2] }))
  agree('dilation 2 with stride 2', () => conv([2, 2, 10, 10], [3, 2, 3, 3], { kernel_shape: [3, 3], dilations: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }))
  agree('depthwise s2 p1', () => conv([2, 4, 7, 7], [4, 1, 3, 3], { kernel_shape: [3, 3], group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }))
  agree('depthwise multiplier 2, dilation 2', () => conv([2, 3, 8, 8], [6, 1, 3, 3], { kernel_shape: [3, 3], group: 3, dilations: [2, 2], pads: [2, 2, 2, 2] }))
  agree('group 2, stride 2, dilation 2', () => conv([2, 4, 9, 9], [4, 2, 3, 3], { kernel_shape: [3, 3], group: 2, strides: [2, 2], dilations: [2, 2], pads: [1, 2, 2, 1] }))
  agree('auto_pad SAME_UPPER k4 s2 on 7x7', () => conv([2, 3, 7, 7], [4, 3, 4, 4], { kernel_shape: [4, 4], strides: [2, 2], auto_pad: 'SAME_UPPER' }))
  agree('auto_pad SAME_LOWER k2 s1', () => conv([2, 3, 6, 6], [4, 3, 2, 2], { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' }, false))
  agree('k7 s2 p3 (ResNet stem)', () => conv([2, 3, 16, 16], [4, 3, 7, 7], { kernel_shape: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3] }))
  agree('1-D k3 s2 p1', () => conv([2, 3, 10], [4, 3, 3], { kernel_shape: [3], strides: [2], pads: [1, 1] }))
  const convT = (xDims: number[], wDims: number[], attrs: CheckSpec['attrs']): CheckSpec => {
    const group = Number((attrs ?? {}).group) || 1
    return { opType: 'ConvTranspose', attrs, inputs: [x('x', xDims), wd('w', wDims), wd('b', [wDims[1] * group])] }
  }
  agree('k3 s2 p1 output_padding 1 (x, w, b)', () => convT([2, 4, 5, 5], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), ['x', 'w', 'b'])
  agree('k4 s2 p1 (DCGAN)', () => convT([2, 3, 4, 4], [3, 2, 4, 4], { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] }))
  agree('group 2, dilation 2', () => convT([2, 4, 4, 4], [4, 2, 3, 3], { kernel_shape: [3, 3], group: 2, dilations: [2, 2] }))
  agree('dilation 2, stride 2, asymmetric pads', () => convT([2, 2, 4, 4], [2, 3, 3, 3], { kernel_shape: [3, 3], dilations: [2, 2], strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 1] }))
  agree('1-D k3 s2 p1 output_padding 1', () => convT([2, 3, 5], [3, 2, 3], { kernel_shape: [3], strides: [2], pads: [1, 1], output_padding: [1] }))
})

describe('Gemm and MatMul', () => {
  for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    agree(`transA=${ta} transB=${tb}, alpha 0.5 beta 2, C [N]`, () => ({
      opType: 'Gemm',
      attrs: { transA: ta, transB: tb, alpha: 0.5, beta: floatAttr(2) },
      inputs: [x('a', ta ? [5, 2] : [2, 5]), x('b', tb ? [3, 5] : [5, 3]), x('c', [3])]
    }), ['a', 'b', 'c'])
  }
  agree('C [M,1]', () => ({ opType: 'Gemm', attrs: { transB: 1 }, inputs: [x('a', [2, 6]), x('b', [4, 6]), x('c', [2, 1])] }))
  agree('2-D', () => ({ opType: 'MatMul', inputs: [x('a', [2, 4]), x('b', [4, 3])] }), ['a', 'b'])
  agree('3-D with 2-D weight', () => ({ opType: 'MatMul', inputs: [x('a', [2, 3, 4]), x('b', [4, 5])] }))
  agree('4-D with broadcast batch [2,1] x [3]', () => ({ opType: 'MatMul', inputs: [x('a', [2, 1, 3, 4]), x('b', [3, 4, 2])] }))
})

describe('elementwise', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    const rhs = (dims: number[]) => (op === 'Div' ? positive(dims, 0.75, 1.5) : rand(dims))
    agree('[2,3,4,4] with [1,3,1,1]', () => ({ opType: op, inputs: [x('a', [2, 3, 4, 4]), x('b', [1, 3, 1, 1], rhs([1, 3, 1, 1]))] }), ['a', 'b'])
    agree('[2,1,4] with [3,1] (both broadcast)', () => ({ opType: op, inputs: [x('a', [2, 1, 4]), x('b', [3, 1], rhs([3, 1]))] }))
    agree('scalar with [2,3,4]', () => ({ opType: op, inputs: [x('a', []), x('b', [2, 3, 4], rhs([2, 3, 4]))] }))
  }
  agree('of one input', () => ({ opType: 'Neg', inputs: [x('x', [2, 3, 4])] }))
  agree('of 3 inputs with broadcasting', () => ({ opType: 'Sum', inputs: [x('a', [2, 3, 4]), x('b', [3, 4]), x('c', [1, 3, 1])] }), ['a', 'b', 'c'])
  agree('exponent 3', () => ({ opType: 'Pow', inputs: [x('x', [2, 3, 4]), k('p', cf([], [3]))] }), ['x'])
  agree('exponent 0.5, positive base', () => ({ opType: 'Pow', inputs: [x('x', [2, 3], positive([2, 3], 0.5, 1.5)), k('p', cf([], [0.5]))] }))
  agree('positive inputs', () => ({ opType: 'Sqrt', inputs: [x('x', [2, 3, 4], positive([2, 3, 4], 0.5, 1.5))] }))
  agree('divisors in [0.75, 1.5]', () => ({ opType: 'Reciprocal', inputs: [x('x', [2, 3, 4], positive([2, 3, 4], 0.75, 1.5))] }))
  agree('of [2,3,4]', () => ({ opType: 'Exp', inputs: [x('x', [2, 3, 4])] }))
  const mask = (dims: number[]): ConstTensor => ({ dataType: DataType.BOOL, dims, data: Uint8Array.from({ length: size(dims) }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)) })
  agree('broadcast [3,1] condition, [4] right side', () => ({ opType: 'Where', inputs: [k('c', mask([3, 1])), x('a', [2, 3, 4]), x('b', [4])] }), ['a', 'b'])
  for (const op of ['Max', 'Min']) {
    agree('of three inputs on offset grids', () => {
      const [a, b] = [distinct([2, 6], 0.1), distinct([2, 6], 0.1).map((v) => v + 0.05)]
      return { opType: op, inputs: [x('a', [2, 6], a), x('b', [2, 6], b), x('c', [6], Float32Array.from([0.025, -0.275, 0.425, 0.125, -0.175, 0.325]))] }
    })
  }
})

describe('activations', () => {
  agree('of [2,3,4,4]', () => ({ opType: 'Relu', inputs: [x('x', [2, 3, 4, 4])] }))
  agree('alpha 0.2', () => ({ opType: 'LeakyRelu', attrs: { alpha: 0.2 }, inputs: [x('x', [2, 3, 4])] }))
  agree('per-channel slope [3,1,1] (x and slope)', () => ({ opType: 'PRelu', inputs: [x('x', [2, 3, 4, 4]), wd('slope', [3, 1, 1])] }), ['x', 'slope'])
  agree('min 0 / max 6 (ReLU6)', () => ({ opType: 'Clip', inputs: [x('x', [2, 3, 4, 4], rand([2, 3, 4, 4], 8)), k('min', cf([], [0])), k('max', cf([], [6]))] }), ['x'])
  agree('only max', () => ({ opType: 'Clip', inputs: [x('x', [2, 3, 4]), null, k('max', cf([], [0.4]))] }))
  agree('of [2,3,4] x3', () => ({ opType: 'Sigmoid', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  agree('of [2,3,4] x2', () => ({ opType: 'Tanh', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
  agree('alpha 1/6 beta 0.5', () => ({ opType: 'HardSigmoid', attrs: { alpha: 1 / 6, beta: 0.5 }, inputs: [x('x', [2, 3, 4, 4], rand([2, 3, 4, 4], 5))] }))
  agree('opset 14', () => ({ opType: 'HardSwish', opset: 14, inputs: [x('x', [2, 3, 4, 4], rand([2, 3, 4, 4], 5))] }))
  agree('of [2,3,4] x3', () => ({ opType: 'Softplus', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  agree('of [2,3,4] x2', () => ({ opType: 'Erf', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
  agree('approximate none (opset 20)', () => ({ opType: 'Gelu', opset: 20, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  agree('approximate tanh (opset 20)', () => ({ opType: 'Gelu', opset: 20, attrs: { approximate: 'tanh' }, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  for (const op of ['Softmax', 'LogSoftmax']) {
    agree('axis 1 on [2,3,4]', () => ({ opType: op, attrs: { axis: 1 }, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
    agree('axis -1 (default) on [2,5]', () => ({ opType: op, inputs: [x('x', [2, 5], rand([2, 5], 2))] }))
  }
})

describe('normalization', () => {
  agree('inference (x, scale, bias)', () => ({
    opType: 'BatchNormalization',
    attrs: { epsilon: 1e-3 },
    inputs: [x('x', [2, 3, 4, 4]), wd('scale', [3]), wd('bias', [3]), k('mean', cf([3])), k('var', cf([3], positive([3], 0.3, 2)))]
  }), ['x', 'scale', 'bias'])
  agree('training_mode 1 (batch statistics, opset 15)', () => ({
    opType: 'BatchNormalization',
    opset: 15,
    attrs: { training_mode: 1 },
    outputs: 3,
    seeded: 1,
    inputs: [x('x', [3, 2, 3, 3]), wd('scale', [2]), wd('bias', [2]), k('mean', cf([2])), k('var', cf([2], positive([2], 0.3, 2)))]
  }), ['x', 'scale', 'bias'])
  agree('axis -1 with scale and bias (opset 17)', () => ({
    opType: 'LayerNormalization',
    opset: 17,
    inputs: [x('x', [2, 3, 6], rand([2, 3, 6], 2)), wd('scale', [6]), wd('bias', [6])]
  }), ['x', 'scale', 'bias'])
  agree('with scale and bias', () => ({
    opType: 'InstanceNormalization',
    attrs: { epsilon: 1e-3 },
    inputs: [x('x', [2, 3, 4, 4], rand([2, 3, 4, 4], 2)), wd('scale', [3]), wd('bias', [3])]
  }), ['x', 'scale', 'bias'])
})

describe('pooling and reductions', () => {
  const maxPool = (dims: number[], attrs: CheckSpec['attrs']): CheckSpec => ({ opType: 'MaxPool', attrs, inputs: [x('x', dims, distinct(dims))] })
  agree('k3 s2 p1', () => maxPool([2, 3, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }))
  agree('k3 s2 ceil_mode', () => maxPool([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }))
  agree('k2 s2 dilation 2', () => maxPool([2, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2] }))
  agree('auto_pad SAME_UPPER k3 s2', () => maxPool([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }))
  agree('1-D k3 s2 p1', () => maxPool([2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }))
  const avg = (dims: number[], attrs: CheckSpec['attrs']): CheckSpec => ({ opType: 'AveragePool', attrs, inputs: [x('x', dims)] })
  agree('k3 s1 p1 count_include_pad 0', () => avg([2, 3, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }))
  agree('k3 s1 p1 count_include_pad 1', () => avg([2, 3, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }))
  agree('k3 s2 asymmetric pads', () => avg([2, 2, 7, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 2] }))
  agree('k2 s2 ceil_mode on 7x7, count_include_pad 1', () => avg([2, 3, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1, count_include_pad: 1 }))
  agree('k3 s2 p1 ceil_mode, count_include_pad 0', () => avg([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }))
  agree('auto_pad SAME_LOWER k2 s2 on 7x7', () => avg([2, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_LOWER' }))
  agree('of [2,3,5,5]', () => ({ opType: 'GlobalAveragePool', inputs: [x('x', [2, 3, 5, 5])] }))
  agree('of distinct values', () => ({ opType: 'GlobalMaxPool', inputs: [x('x', [2, 3, 4, 4], distinct([2, 3, 4, 4]))] }))
  agree('2x2 windows at MaxPool-style flat indices', () => ({
    opType: 'MaxUnpool',
    opset: 11,
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    inputs: [x('x', [2, 2, 2, 2]), k('idx', ci([0, 3, 9, 14, 17, 22, 24, 31, 32, 34, 42, 47, 49, 51, 57, 62], [2, 2, 2, 2])), k('shape', ci([2, 2, 4, 4]))]
  }), ['x'])
  agree('axes [2,3] keepdims 0', () => ({ opType: 'ReduceMean', attrs: { axes: [2, 3], keepdims: 0 }, inputs: [x('x', [2, 3, 4, 4])] }))
  agree('opset 18 axes input [-2,-1]', () => ({ opType: 'ReduceMean', opset: 18, attrs: { keepdims: 0 }, inputs: [x('x', [2, 3, 3, 4]), k('axes', ci([-2, -1]))] }))
  agree('axes input [2,3] keepdims 1', () => ({ opType: 'ReduceSum', attrs: { keepdims: 1 }, inputs: [x('x', [2, 3, 4, 4]), k('axes', ci([2, 3]))] }))
  agree('over every axis, keepdims 0', () => ({ opType: 'ReduceSum', attrs: { keepdims: 0 }, inputs: [x('x', [2, 3, 4])] }))
})

describe('shape ops', () => {
  agree('of [2,3,4]', () => ({ opType: 'Identity', inputs: [x('x', [2, 3, 4])] }))
  agree('with a ratio input (inference)', () => ({ opType: 'Dropout', inputs: [x('x', [2, 3, 4]), k('ratio', cf([], [0.5]))] }), ['x'])
  agree('axis 2', () => ({ opType: 'Flatten', attrs: { axis: 2 }, inputs: [x('x', [2, 3, 2, 2])] }))
  agree('with -1 and 0', () => ({ opType: 'Reshape', inputs: [x('x', [2, 3, 4]), k('shape', ci([0, -1, 2]))] }), ['x'])
  agree('axes input [2,3]', () => ({ opType: 'Squeeze', inputs: [x('x', [2, 3, 1, 1]), k('axes', ci([2, 3]))] }), ['x'])
  agree('axes input [-1, 2]', () => ({ opType: 'Unsqueeze', inputs: [x('x', [2, 3]), k('axes', ci([-1, 2]))] }), ['x'])
  agree('perm [0,2,3,1]', () => ({ opType: 'Transpose', attrs: { perm: [0, 2, 3, 1] }, inputs: [x('x', [2, 3, 4, 5])] }))
  agree('axis 1, three inputs', () => ({ opType: 'Concat', attrs: { axis: 1 }, inputs: [x('a', [2, 2, 3, 3]), x('b', [2, 3, 3, 3]), x('c', [2, 1, 3, 3])] }), ['a', 'b', 'c'])
  agree('split sizes input', () => ({ opType: 'Split', attrs: { axis: 1 }, inputs: [x('x', [2, 6, 3]), k('split', ci([2, 1, 3]))], outputs: 3 }), ['x'])
  agree('equal parts on axis -1', () => ({ opType: 'Split', attrs: { axis: -1 }, inputs: [x('x', [2, 3, 4])], outputs: 2 }))
  const slice = (dims: number[], starts: number[], ends: ConstTensor, axes: number[]): CheckSpec => ({
    opType: 'Slice',
    inputs: [x('x', dims), k('starts', ci(starts)), k('ends', ends), k('axes', ci(axes))]
  })
  agree('starts/ends/axes', () => slice([2, 5, 6], [1, 2], ci([4, 5]), [1, 2]), ['x'])
  agree('negative indices', () => slice([2, 5, 6], [-3], ci([-1]), [-1]))
  agree('ends INT64_MAX (torch)', () => slice([2, 5, 6], [2], INT64_MAX, [1]))
  agree('constant mode', () => ({ opType: 'Pad', inputs: [x('x', [2, 3, 4, 4]), k('pads', ci([0, 0, 1, 2, 0, 0, 2, 1]))] }), ['x'])
  agree('with crops and a value', () => ({ opType: 'Pad', inputs: [x('x', [2, 3, 5]), k('pads', ci([0, 0, -1, 0, 1, 2])), k('value', cf([], [0.5]))] }))
  agree('[1,1,4] to [2,3,4]', () => ({ opType: 'Expand', inputs: [x('x', [1, 1, 4]), k('shape', ci([2, 3, 4]))] }), ['x'])
  agree('repeated and negative indices on axis -1', () => ({ opType: 'Gather', attrs: { axis: -1 }, inputs: [x('x', [2, 3, 5]), k('i', ci([4, -1, 0, 2], [2, 2]))] }))
  agree('scalar index on axis 1', () => ({ opType: 'Gather', attrs: { axis: 1 }, inputs: [x('x', [2, 5, 4]), k('i', ci([0], []))] }))
  agree('axis -1 with repeated and negative indices', () => ({
    opType: 'GatherElements',
    attrs: { axis: -1 },
    inputs: [x('data', [2, 3, 4]), k('idx', ci([0, 3, 3, -1, 1, 2, 0, 0, -4, 2, 1, 1, 3, 0, 2, 2, 1, -2], [2, 3, 3]))]
  }), ['data'])
  agree('reduction none, axis 1, negative indices', () => ({
    opType: 'ScatterElements',
    attrs: { axis: 1 },
    inputs: [x('data', [2, 4, 3]), k('idx', ci([0, -1, 2, 1, -4, 3], [2, 1, 3])), x('updates', [2, 1, 3])]
  }), ['data', 'updates'])
  agree('reduction add with repeated indices (opset 16)', () => ({
    opType: 'ScatterElements',
    opset: 16,
    attrs: { axis: 0, reduction: 'add' },
    inputs: [x('data', [6]), k('idx', ci([1, 4, 1, 0, 4, 4, 2])), x('updates', [7])]
  }))
})

describe('Resize', () => {
  const resize = (dims: number[], attrs: CheckSpec['attrs'], scales: number[] | null, sizes?: number[]): CheckSpec => ({
    opType: 'Resize',
    attrs,
    inputs: [x('x', dims), k('roi', cf([0], [])), scales ? k('scales', cf([scales.length], scales)) : k('scales', cf([0], [])), ...(sizes ? [k('sizes', ci(sizes))] : [])]
  })
  agree('linear x2 half_pixel (tf.image.resizeBilinear)', () => resize([2, 3, 3, 4], { mode: 'linear' }, [1, 1, 2, 2]), ['x'])
  agree('linear align_corners via sizes', () => resize([2, 2, 3, 4], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, null, [2, 2, 7, 9]))
  agree('linear x1.5 asymmetric', () => resize([2, 2, 4, 4], { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, [1, 1, 1.5, 1.5]))
  agree('linear downsample x0.5', () => resize([2, 2, 6, 6], { mode: 'linear' }, [1, 1, 0.5, 0.5]))
  agree('linear half_pixel_symmetric x2.5 (opset 19)', () => ({ ...resize([2, 2, 3, 3], { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, [1, 1, 2.5, 2.5]), opset: 19 }))
  agree('nearest x2 asymmetric floor', () => resize([2, 3, 3, 4], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [1, 1, 2, 2]))
  agree('nearest x1.5 round_prefer_ceil via sizes', () => resize([2, 2, 4, 4], { mode: 'nearest', nearest_mode: 'round_prefer_ceil' }, null, [2, 2, 6, 6]))
})

describe('coverage', () => {
  it('every op with a VJP rule is cross-checked here', () => {
    expect(Object.keys(RULES).filter((op) => !covered.has(op))).toEqual([])
  })
})

afterAll(() => {
  // The executor disposes its weights; nothing of ours may stay on the backend.
  expect(backend.tf.memory().numTensors).toBeLessThan(50)
})
