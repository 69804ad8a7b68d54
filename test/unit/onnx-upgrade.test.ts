import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { onnx } from 'onnx-proto'
import * as ort from 'onnxruntime-node'
import { onnxFormat } from '../../src/main/engine/formats/onnx'
import { encodeAttributes, valueInfo, type BuilderAttr } from '../../src/main/engine/onnx/builder'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { DataType, encodeTensor, f32, i64, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'
import { upgradeModel } from '../../src/main/engine/onnx/upgrade'
import { ApiError } from '../../src/shared/errors'
import { rejection, tempDir } from '../helpers'

/**
 * Each upgrade rule on a one-op model: onnxruntime runs the original node at its own opset (its old
 * kernels are an independent reference), and the upgraded model at opset 13 must compute the same.
 */

interface OpSpec {
  op: string
  inputs: string[]
  outputs?: string[]
  attrs?: Record<string, BuilderAttr>
}

interface ModelSpec {
  opset: number
  nodes: OpSpec[]
  /** Graph inputs (float, random values). */
  inputs: Record<string, number[]>
  consts?: Record<string, ConstTensor>
  outputs: string[]
  outputTypes?: number[]
}

/** The model as a file holds it (decoded from its bytes, as the engine reads models). */
function buildModel(spec: ModelSpec): onnx.ModelProto {
  const model = onnx.ModelProto.create({
    irVersion: spec.opset < 9 ? 3 : 5,
    producerName: 'metascope-tests',
    opsetImport: [{ domain: '', version: spec.opset }],
    graph: {
      name: 'old',
      node: spec.nodes.map((n, i) =>
        onnx.NodeProto.create({ name: `${n.op}_${i}`, opType: n.op, input: n.inputs, output: n.outputs ?? ['y'], attribute: encodeAttributes(n.attrs ?? {}) })
      ),
      // Old IR versions list initializers among the inputs too, as old exporters wrote them.
      input: [
        ...Object.entries(spec.inputs).map(([name, dims]) => valueInfo(name, DataType.FLOAT, dims)),
        ...Object.entries(spec.consts ?? {}).map(([name, c]) => valueInfo(name, c.dataType, c.dims))
      ],
      initializer: Object.entries(spec.consts ?? {}).map(([name, c]) => encodeTensor(name, c)),
      output: spec.outputs.map((o, i) => onnx.ValueInfoProto.create({ name: o, type: { tensorType: { elemType: spec.outputTypes?.[i] ?? DataType.FLOAT } } }))
    }
  })
  return onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
}

function random(dims: number[], seed: number): Float32Array {
  const n = dims.reduce((p, d) => p * d, 1)
  return Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233) * 2)
}

async function run(model: onnx.ModelProto, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish())
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>
  } finally {
    await session.release()
  }
}

/** Upgrades the model and checks both compute the same outputs; returns the upgraded model's index. */
async function expectSameAsOriginal(spec: ModelSpec): Promise<GraphIndex> {
  const original = buildModel(spec)
  const up = upgradeModel(original, { file: 'old.onnx' })
  expect(up.from).toBe(spec.opset)
  expect(up.to).toBe(13)
  const upgraded = onnx.ModelProto.decode(onnx.ModelProto.encode(up.model).finish())
  const feeds = Object.fromEntries(Object.entries(spec.inputs).map(([name, dims], i) => [name, new ort.Tensor('float32', random(dims, i), dims)]))
  const want = await run(original, feeds)
  const got = await run(upgraded, feeds)
  for (const o of spec.outputs) {
    expect(got[o].dims).toEqual(want[o].dims)
    const a = Array.from(want[o].data as ArrayLike<number | bigint>, Number)
    const b = Array.from(got[o].data as ArrayLike<number | bigint>, Number)
    expect(a.length).toBeGreaterThan(0)
    // The same kernels on the same values: equal up to float rounding order.
    b.forEach((v, j) => expect(Math.abs(v - a[j]), `${o}[${j}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(a[j]))))
  }
  const index = new GraphIndex(upgraded)
  expect(index.opset).toBe(13)
  return index
}

const one = (index: GraphIndex, op: string) => {
  const nodes = index.nodes.filter((n) => n.opType === op)
  expect(nodes).toHaveLength(1)
  return nodes[0]
}

describe('Softmax family before opset 13 (coerced to 2-D at axis)', () => {
  it('Softmax over the trailing axes of a 4-D tensor (axis 1) keeps the flattened semantics', async () => {
    const index = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Softmax', inputs: ['x'], attrs: { axis: 1 } }], inputs: { x: [2, 3, 4, 5] }, outputs: ['y'] })
    // Not the last axis: Flatten -> Softmax(axis 1) -> Reshape back.
    expect(index.nodes.map((n) => n.opType)).toEqual(['Flatten', 'Softmax', 'Shape', 'Reshape'])
  })

  it('Softmax with the default axis on a 3-D tensor', async () => {
    await expectSameAsOriginal({ opset: 11, nodes: [{ op: 'Softmax', inputs: ['x'] }], inputs: { x: [2, 3, 4] }, outputs: ['y'] })
  })

  it('Softmax over the last axis stays one node, with the axis made explicit', async () => {
    const index = await expectSameAsOriginal({ opset: 11, nodes: [{ op: 'Softmax', inputs: ['x'], attrs: { axis: -1 } }], inputs: { x: [2, 3, 4] }, outputs: ['y'] })
    expect(one(index, 'Softmax').attrs.axis).toBe(2)
    expect(index.nodes).toHaveLength(1)
  })

  it('LogSoftmax of [N, classes] logits (default axis 1) stays one node', async () => {
    const index = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'LogSoftmax', inputs: ['x'] }], inputs: { x: [3, 7] }, outputs: ['y'] })
    expect(one(index, 'LogSoftmax').attrs.axis).toBe(1)
  })

  it('Hardmax at axis 2 of a 4-D tensor', async () => {
    await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Hardmax', inputs: ['x'], attrs: { axis: 2 } }], inputs: { x: [2, 3, 4, 5] }, outputs: ['y'] })
  })

  it('without a declared rank, the rank-independent form', async () => {
    const spec: ModelSpec = { opset: 9, nodes: [{ op: 'Softmax', inputs: ['x'], attrs: { axis: 1 } }], inputs: { x: [2, 6] }, outputs: ['y'] }
    const model = buildModel(spec)
    model.graph!.input![0] = onnx.ValueInfoProto.create({ name: 'x', type: { tensorType: { elemType: DataType.FLOAT } } })
    const up = upgradeModel(model, { file: 'old.onnx' })
    expect(up.model.graph!.node!.map((n) => n.opType)).toEqual(['Flatten', 'Softmax', 'Shape', 'Reshape'])
    // ...which a probe's shapes turn back into one node.
    const probed = upgradeModel(model, { file: 'old.onnx', shapes: new Map([['x', [2, 6]]]) })
    expect(probed.model.graph!.node!.map((n) => n.opType)).toEqual(['Softmax'])
  })
})

describe('attributes that became inputs', () => {
  it('Squeeze axes (opset 11)', async () => {
    const index = await expectSameAsOriginal({ opset: 11, nodes: [{ op: 'Squeeze', inputs: ['x'], attrs: { axes: [1, -1] } }], inputs: { x: [2, 1, 4, 1] }, outputs: ['y'] })
    const n = one(index, 'Squeeze')
    expect(n.attrs.axes).toBeUndefined()
    expect(index.constant(n.inputs[1])?.data).toEqual(BigInt64Array.from([1n, -1n]))
  })

  it('Squeeze without axes drops every size-1 axis, as before', async () => {
    await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Squeeze', inputs: ['x'] }], inputs: { x: [2, 1, 4, 1] }, outputs: ['y'] })
  })

  it('Unsqueeze axes (opset 9)', async () => {
    const index = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Unsqueeze', inputs: ['x'], attrs: { axes: [0, 3] } }], inputs: { x: [2, 3] }, outputs: ['y'] })
    expect(one(index, 'Unsqueeze').inputs).toHaveLength(2)
  })

  it('ReduceSum axes (opset 11), and ReduceSum over all axes', async () => {
    const index = await expectSameAsOriginal({ opset: 11, nodes: [{ op: 'ReduceSum', inputs: ['x'], attrs: { axes: [2, 3], keepdims: 0 } }], inputs: { x: [2, 3, 4, 5] }, outputs: ['y'] })
    expect(one(index, 'ReduceSum').inputs).toHaveLength(2)
    await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'ReduceSum', inputs: ['x'] }], inputs: { x: [2, 3, 4] }, outputs: ['y'] })
  })

  it('Split sizes (opset 9) and an equal Split without sizes (opset 11)', async () => {
    const index = await expectSameAsOriginal({
      opset: 9,
      nodes: [{ op: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: 1, split: [1, 3] } }],
      inputs: { x: [2, 4, 3] },
      outputs: ['a', 'b']
    })
    expect(index.constant(one(index, 'Split').inputs[1])?.data).toEqual(BigInt64Array.from([1n, 3n]))
    await expectSameAsOriginal({ opset: 11, nodes: [{ op: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: -1 } }], inputs: { x: [2, 3, 4] }, outputs: ['a', 'b'] })
  })

  it('Clip min/max (opset 9, ReLU6) and a Clip with only max', async () => {
    const index = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Clip', inputs: ['x'], attrs: { min: { __float: 0 }, max: { __float: 6 } } }], inputs: { x: [2, 50] }, outputs: ['y'] })
    const n = one(index, 'Clip')
    expect([index.constant(n.inputs[1])?.data[0], index.constant(n.inputs[2])?.data[0]]).toEqual([0, 6])
    const onlyMax = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Clip', inputs: ['x'], attrs: { max: { __float: 0.5 } } }], inputs: { x: [2, 50] }, outputs: ['y'] })
    expect(one(onlyMax, 'Clip').inputs[1]).toBe('')
  })

  it('Pad pads and value (opset 9), constant and reflect modes', async () => {
    const index = await expectSameAsOriginal({
      opset: 9,
      nodes: [{ op: 'Pad', inputs: ['x'], attrs: { pads: [0, 0, 1, 2, 0, 0, 2, 0], value: { __float: 0.5 } } }],
      inputs: { x: [1, 2, 3, 4] },
      outputs: ['y']
    })
    expect(index.constant(one(index, 'Pad').inputs[1])?.data).toEqual(BigInt64Array.from([0n, 0n, 1n, 2n, 0n, 0n, 2n, 0n]))
    await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Pad', inputs: ['x'], attrs: { pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: 'reflect' } }], inputs: { x: [1, 2, 3, 4] }, outputs: ['y'] })
  })

  it('Slice starts/ends/axes (opset 9), with and without axes', async () => {
    const index = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Slice', inputs: ['x'], attrs: { axes: [2, 3], starts: [1, 0], ends: [-1, 100] } }], inputs: { x: [2, 3, 5, 4] }, outputs: ['y'] })
    expect(one(index, 'Slice').inputs).toHaveLength(4)
    await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Slice', inputs: ['x'], attrs: { starts: [0, 1], ends: [1, 3] } }], inputs: { x: [2, 3, 5] }, outputs: ['y'] })
  })

  it('TopK k (opset 9)', async () => {
    await expectSameAsOriginal({
      opset: 9,
      nodes: [{ op: 'TopK', inputs: ['x'], outputs: ['values', 'indices'], attrs: { k: 3 } }],
      inputs: { x: [2, 7] },
      outputs: ['values', 'indices'],
      outputTypes: [DataType.FLOAT, DataType.INT64]
    })
  })
})

describe('ops replaced or simplified', () => {
  it('Dropout (opset 9, inference) becomes Identity', async () => {
    const index = await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Dropout', inputs: ['x'], attrs: { ratio: { __float: 0.3 } } }], inputs: { x: [2, 5] }, outputs: ['y'] })
    expect(index.nodes.map((n) => n.opType)).toEqual(['Identity'])
  })

  it('BatchNormalization (opset 7) loses spatial=1', async () => {
    const c = 3
    const consts = { s: f32([1.5, 0.5, 2], [c]), b: f32([0.1, -0.2, 0.3], [c]), m: f32([0.2, 0, -0.1], [c]), v: f32([1, 2, 0.5], [c]) }
    const index = await expectSameAsOriginal({
      opset: 7,
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], attrs: { spatial: 1, epsilon: { __float: 1e-3 } } }],
      inputs: { x: [2, c, 4, 4] },
      consts,
      outputs: ['y']
    })
    expect(one(index, 'BatchNormalization').attrs.spatial).toBeUndefined()
    // The upgraded graph lists only the image as an input: weights are plain initializers (IR >= 4).
    expect(index.inputNames).toEqual(['x'])
  })

  it('Upsample nearest with a scales attribute (opset 7) becomes Resize', async () => {
    const index = await expectSameAsOriginal({ opset: 7, nodes: [{ op: 'Upsample', inputs: ['x'], attrs: { mode: 'nearest', scales: { __floats: [1, 1, 2, 3] } } }], inputs: { x: [1, 2, 3, 4] }, outputs: ['y'] })
    const n = one(index, 'Resize')
    expect([n.attrs.coordinate_transformation_mode, n.attrs.nearest_mode]).toEqual(['asymmetric', 'floor'])
  })

  it.each([
    ['nearest', [1, 1, 2, 2]],
    ['nearest', [1, 1, 3, 1.5]],
    ['linear', [1, 1, 2, 2]],
    ['linear', [1, 1, 2.5, 3]]
  ])('Upsample %s with a scales input %j (opset 9) becomes Resize', async (mode, scales) => {
    await expectSameAsOriginal({ opset: 9, nodes: [{ op: 'Upsample', inputs: ['x', 'scales'], attrs: { mode } }], inputs: { x: [1, 2, 3, 4] }, consts: { scales: f32(scales, [4]) }, outputs: ['y'] })
  })

  it.each([
    ['nearest', [1, 1, 2, 3]],
    ['linear', [1, 1, 2, 2]],
    ['nearest', [1, 1, 0.5, 0.5]],
    ['linear', [1, 1, 0.5, 0.75]]
  ])('Resize-10 %s with scales %j becomes Resize-13 with asymmetric coordinates', async (mode, scales) => {
    await expectSameAsOriginal({ opset: 10, nodes: [{ op: 'Resize', inputs: ['x', 'scales'], attrs: { mode } }], inputs: { x: [1, 2, 6, 8] }, consts: { scales: f32(scales, [4]) }, outputs: ['y'] })
  })

  it('Scatter (opset 9) becomes ScatterElements', async () => {
    const index = await expectSameAsOriginal({
      opset: 9,
      nodes: [{ op: 'Scatter', inputs: ['x', 'idx', 'u'], attrs: { axis: 1 } }],
      inputs: { x: [2, 5], u: [2, 2] },
      consts: { idx: i64([0, 3, 4, 1], [2, 2]) },
      outputs: ['y']
    })
    expect(index.nodes.map((n) => n.opType)).toEqual(['ScatterElements'])
  })

  it('ImageScaler (experimental, opset 8) becomes Mul and Add', async () => {
    const index = await expectSameAsOriginal({
      opset: 8,
      nodes: [{ op: 'ImageScaler', inputs: ['x'], attrs: { scale: { __float: 0.5 }, bias: { __floats: [-1, 0.25, 2] } } }],
      inputs: { x: [2, 3, 4, 4] },
      outputs: ['y']
    })
    expect(index.nodes.map((n) => n.opType)).toEqual(['Mul', 'Add'])
  })

  it('ops whose changes keep old graphs valid stay as they are (Gemm, MaxPool, AveragePool, Concat, Flatten at opset 9)', async () => {
    const index = await expectSameAsOriginal({
      opset: 9,
      nodes: [
        { op: 'MaxPool', inputs: ['x'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'AveragePool', inputs: ['x'], outputs: ['q'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
        { op: 'Concat', inputs: ['p', 'q'], outputs: ['c'], attrs: { axis: 1 } },
        { op: 'Flatten', inputs: ['c'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['f', 'w', 'b'], outputs: ['y'], attrs: { transB: 1 } }
      ],
      inputs: { x: [2, 2, 4, 4] },
      consts: { w: f32(random([3, 16], 7), [3, 16]), b: f32([0.1, 0.2, 0.3], [3]) },
      outputs: ['y']
    })
    expect(index.nodes.map((n) => n.opType)).toEqual(['MaxPool', 'AveragePool', 'Concat', 'Flatten', 'Gemm'])
  })

  it('leaves an opset-13 model as it is', () => {
    const model = buildModel({ opset: 13, nodes: [{ op: 'Relu', inputs: ['x'] }], inputs: { x: [1, 2] }, outputs: ['y'] })
    expect(upgradeModel(model, { file: 'new.onnx' }).model).toBe(model)
  })
})

describe('what cannot be upgraded is an error naming the op, the node and the opset', () => {
  async function refusal(spec: ModelSpec): Promise<ApiError> {
    try {
      upgradeModel(buildModel(spec), { file: '/models/old.onnx' })
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError)
      return err as ApiError
    }
    throw new Error('expected a refusal')
  }

  it('If (subgraphs) at opset 11', async () => {
    const err = await refusal({ opset: 11, nodes: [{ op: 'If', inputs: ['cond'] }], inputs: {}, consts: { cond: { dataType: DataType.BOOL, dims: [], data: Uint8Array.from([1]) } }, outputs: ['y'] })
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/old\.onnx \(ONNX opset 11\): cannot upgrade If node "If_0" to opset 13/)
    expect(err.details).toEqual({ field: 'modelPath', constraint: 'upgrade-op', file: 'old.onnx', why: expect.stringMatching(/^If holds subgraphs/), op: 'If', node: 'If_0', opset: 11 })
    expect(err.file).toBe('/models/old.onnx')
  })

  it('BatchNormalization with spatial=0 (opset 7)', async () => {
    const c = f32([1, 1], [2])
    const err = await refusal({ opset: 7, nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], attrs: { spatial: 0 } }], inputs: { x: [1, 2, 2, 2] }, consts: { s: c, b: c, m: c, v: c }, outputs: ['y'] })
    expect(err.message).toMatch(/BatchNormalization node "BatchNormalization_0".*opset 7.*spatial=0|opset 7.*BatchNormalization node "BatchNormalization_0".*spatial=0/)
  })

  it('Upsample in a mode Resize has no rule for', async () => {
    const err = await refusal({ opset: 7, nodes: [{ op: 'Upsample', inputs: ['x'], attrs: { mode: 'cubic', scales: { __floats: [1, 1, 2, 2] } } }], inputs: { x: [1, 1, 2, 2] }, outputs: ['y'] })
    expect(err.message).toMatch(/Upsample node "Upsample_0".*mode cubic/)
  })

  it('an experimental op dropped from the standard (Crop, opset 8)', async () => {
    const err = await refusal({ opset: 8, nodes: [{ op: 'Crop', inputs: ['x'], attrs: { border: [1, 1, 1, 1] } }], inputs: { x: [1, 1, 4, 4] }, outputs: ['y'] })
    expect(err.message).toMatch(/opset 8\): cannot upgrade Crop node "Crop_0" to opset 13: Crop is an experimental op that was dropped/)
  })

  it('opening such a file as a model fails with that error, naming the file', async () => {
    const path = join(tempDir(), 'crop8.onnx')
    writeFileSync(path, onnx.ModelProto.encode(buildModel({ opset: 8, nodes: [{ op: 'Crop', inputs: ['x'] }], inputs: { x: [1, 1, 4, 4] }, outputs: ['y'] })).finish())
    const err = await rejection(onnxFormat.open(path))
    expect(err.code).toBe('unsupported')
    expect(err.file).toBe(path)
    expect(err.message).toMatch(/^crop8\.onnx \(ONNX opset 8\): cannot upgrade Crop node "Crop_0"/)
  })

  it('opsets older than 7', async () => {
    const err = await refusal({ opset: 6, nodes: [{ op: 'Relu', inputs: ['x'] }], inputs: { x: [1, 2] }, outputs: ['y'] })
    expect(err.message).toMatch(/old\.onnx uses ONNX opset 6; Metascope upgrades models from opset 7 on/)
  })
})
