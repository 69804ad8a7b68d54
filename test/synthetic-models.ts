import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { encodeAttributes, valueInfo, type BuilderAttr } from '../src/main/engine/onnx/builder'
import { f32, encodeTensor } from '../src/main/engine/onnx/tensor-data'

/** Tiny hand-built ONNX models for the error paths no exported classifier exercises. */
interface NodeSpec {
  op: string
  inputs: string[]
  output: string
  attrs?: Record<string, BuilderAttr>
}

function weights(name: string, dims: number[]) {
  const n = dims.reduce((p, d) => p * d, 1)
  return encodeTensor(name, f32(Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 0.3), dims))
}

export function writeModel(dir: string, file: string, nodes: NodeSpec[], init: Record<string, number[]>, classes: number, input = [1, 3, 8, 8]): string {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'metascope-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: file,
      node: nodes.map((n, i) =>
        onnx.NodeProto.create({ name: `${n.op}_${i}`, opType: n.op, input: n.inputs, output: [n.output], attribute: encodeAttributes(n.attrs ?? {}) })
      ),
      input: [valueInfo('input', onnx.TensorProto.DataType.FLOAT, ['batch', ...input.slice(1)])],
      initializer: Object.entries(init).map(([name, dims]) => weights(name, dims)),
      output: [valueInfo('logits', onnx.TensorProto.DataType.FLOAT, ['batch', classes])]
    }
  })
  const path = join(dir, file)
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

/** An MLP over a 3x8x8 image: a valid classifier with no 4-D layer to put a CAM on. */
export const mlpModel = (dir: string) =>
  writeModel(dir, 'mlp.onnx', [
    { op: 'Flatten', inputs: ['input'], output: 'flat', attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
  ], { w: [4, 192], b: [4] }, 4)

/** Conv -> Cos -> pool -> Gemm: Cos has no gradient rule, and it sits between the conv and the output. */
export const cosModel = (dir: string) =>
  writeModel(dir, 'cos.onnx', [
    { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Cos', inputs: ['conv'], output: 'wave' },
    { op: 'GlobalAveragePool', inputs: ['wave'], output: 'pool' },
    { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
  ], { cw: [4, 3, 3, 3], w: [5, 4], b: [5] }, 5)

/**
 * Twins for the channels-last path: the same conv/ReLU/pool/linear classifier written NCHW (as torch
 * exports) and NHWC with transposes (as tf2onnx does). Same weights, so their CAMs must agree.
 */
export function layoutTwins(dir: string): { nchw: string; nhwc: string } {
  const init = { cw: [4, 3, 3, 3], w: [5, 4], b: [5] }
  const nchw = writeModel(dir, 'twin_nchw.onnx', [
    { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Relu', inputs: ['conv'], output: 'act' },
    { op: 'GlobalAveragePool', inputs: ['act'], output: 'pool' },
    { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
  ], init, 5)
  const nhwc = writeModel(dir, 'twin_nhwc.onnx', [
    { op: 'Transpose', inputs: ['input'], output: 'to_nchw', attrs: { perm: [0, 3, 1, 2] } },
    { op: 'Conv', inputs: ['to_nchw', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Relu', inputs: ['conv'], output: 'act_nchw' },
    { op: 'Transpose', inputs: ['act_nchw'], output: 'act', attrs: { perm: [0, 2, 3, 1] } },
    { op: 'ReduceMean', inputs: ['act'], output: 'flat', attrs: { axes: [1, 2], keepdims: 0 } },
    { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
  ], init, 5, [1, 8, 8, 3])
  return { nchw, nhwc }
}
