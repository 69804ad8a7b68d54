import { onnx } from 'onnx-proto'
import { encodeAttributes, valueInfo, type BuilderAttr } from '../onnx/builder'
import { encodeTensor, f32, i64 } from '../onnx/tensor-data'
import type { ModelProto } from '../onnx/model-file'

/** Opset 13: the VJP rules need it (Softmax over one axis, Clip/Pad/Squeeze taking inputs). */
const OPSET = 13

/**
 * Writes the ONNX graph a tfjs model converts to. Tensor names are chosen by the converter (the Keras
 * layer or TF node name for each layer's output), so they stay what users know; helper tensors are
 * named under their layer (`conv1/BiasAdd`), and any clash gets a numeric suffix.
 */
export class OnnxWriter {
  private readonly nodes: onnx.NodeProto[] = []
  private readonly initializers: onnx.TensorProto[] = []
  private readonly inputs: onnx.ValueInfoProto[] = []
  private readonly outputs: onnx.ValueInfoProto[] = []
  private readonly used = new Set<string>()

  /** `name` if no tensor has it yet, else `name_1`, `name_2`, ... */
  unique(name: string): string {
    let out = name
    for (let k = 1; this.used.has(out); k++) out = `${name}_${k}`
    this.used.add(out)
    return out
  }

  /** One node with one output; `out` is the wanted tensor name (made unique). */
  op(opType: string, inputs: string[], attrs: Record<string, BuilderAttr>, out: string): string {
    const name = this.unique(out)
    this.nodes.push(onnx.NodeProto.create({ name, opType, input: inputs, output: [name], attribute: encodeAttributes(attrs) }))
    return name
  }

  weight(name: string, data: ArrayLike<number>, dims: number[]): string {
    const n = this.unique(name)
    this.initializers.push(encodeTensor(n, f32(data, dims)))
    return n
  }

  ints(name: string, values: number[]): string {
    const n = this.unique(name)
    this.initializers.push(encodeTensor(n, i64(values)))
    return n
  }

  input(name: string, shape: (number | string)[]): string {
    const n = this.unique(name)
    this.inputs.push(valueInfo(n, onnx.TensorProto.DataType.FLOAT, shape))
    return n
  }

  output(name: string): void {
    this.outputs.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }))
  }

  build(graphName: string, producer: string): { model: ModelProto; bytes: Uint8Array } {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs }
    })
    const bytes = onnx.ModelProto.encode(model).finish()
    // Decode the bytes back so the IR is exactly what a file would give (Long ints, typed arrays).
    return { model: onnx.ModelProto.decode(bytes), bytes }
  }
}

/** TF 'SAME' padding for one spatial axis: the extra pixel goes at the end, as TensorFlow does. */
export function samePads(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(size / stride)
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
  const before = Math.floor(total / 2)
  return [before, total - before]
}

/** Output size of a conv/pool along one axis for 'same' or 'valid' padding. */
export function convOut(size: number, kernel: number, stride: number, padding: 'same' | 'valid', dilation = 1): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - (kernel - 1) * dilation - 1) / stride) + 1
}

/** [kh, kw, in, out] (TF HWIO) -> [out, in, kh, kw] (ONNX OIHW). */
export function hwioToOihw(data: ArrayLike<number>, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(kh * kw * ci * co)
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * co + o]
  return out
}

/** Depthwise [kh, kw, in, mult] -> grouped-conv weights [in * mult, 1, kh, kw] (channel i*mult+m, as TF orders them). */
export function depthwiseToOihw(data: ArrayLike<number>, [kh, kw, ci, m]: number[]): Float32Array {
  const out = new Float32Array(kh * kw * ci * m)
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let j = 0; j < m; j++) out[((i * m + j) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * m + j]
  return out
}

/** [h, w, c] (channels-last) -> [c, h, w]. */
export function hwcToChw(data: ArrayLike<number>, [h, w, c]: number[]): Float32Array {
  const out = new Float32Array(h * w * c)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = data[(y * w + x) * c + k]
  return out
}
