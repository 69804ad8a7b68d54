import { onnx } from 'onnx-proto'
import { toNumber } from './model-file'

const DT = onnx.TensorProto.DataType

export type TensorArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array

/** A constant tensor in plain arrays (initializer, Constant node value, or one we emit). */
export interface ConstTensor {
  dataType: number
  dims: number[]
  data: TensorArray
}

/** Copies raw little-endian bytes into a fresh, aligned typed array (raw_data may be unaligned). */
function fromRaw<T extends TensorArray>(raw: Uint8Array, Ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T {
  const copy = new Uint8Array(raw.byteLength)
  copy.set(raw)
  return new Ctor(copy.buffer)
}

/** Decodes a TensorProto's data for the types a classifier graph uses. */
export function decodeTensor(t: onnx.ITensorProto): ConstTensor {
  const dims = (t.dims ?? []).map(toNumber)
  const dataType = t.dataType ?? 0
  const raw = t.rawData && t.rawData.byteLength ? t.rawData : null
  let data: TensorArray
  switch (dataType) {
    case DT.FLOAT:
      data = raw ? fromRaw(raw, Float32Array) : Float32Array.from(t.floatData ?? [])
      break
    case DT.DOUBLE:
      data = raw ? fromRaw(raw, Float64Array) : Float64Array.from(t.doubleData ?? [])
      break
    case DT.INT64:
      data = raw ? fromRaw(raw, BigInt64Array) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNumber(v))))
      break
    case DT.INT32:
      data = raw ? fromRaw(raw, Int32Array) : Int32Array.from(t.int32Data ?? [])
      break
    case DT.BOOL:
    case DT.UINT8:
      data = raw ? fromRaw(raw, Uint8Array) : Uint8Array.from(t.int32Data ?? [])
      break
    case DT.INT8:
      data = raw ? fromRaw(raw, Int8Array) : Int8Array.from(t.int32Data ?? [])
      break
    default:
      throw new Error(`tensor ${t.name ?? ''} has unsupported data type ${dataType}`)
  }
  if (t.externalData && t.externalData.length) throw new Error(`tensor ${t.name ?? ''} uses external data, which is not supported`)
  return { dataType, dims, data }
}

/** Encodes a constant as a TensorProto with raw_data (the compact form ORT reads fastest). */
export function encodeTensor(name: string, c: ConstTensor): onnx.TensorProto {
  const bytes = new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength)
  return onnx.TensorProto.create({ name, dims: c.dims, dataType: c.dataType, rawData: bytes.slice() })
}

export const f32 = (data: ArrayLike<number>, dims: number[]): ConstTensor => ({
  dataType: DT.FLOAT,
  dims,
  data: Float32Array.from(data)
})

export const i64 = (data: ArrayLike<number>, dims: number[] = [data.length]): ConstTensor => ({
  dataType: DT.INT64,
  dims,
  data: BigInt64Array.from(Array.from(data, (v) => BigInt(v)))
})

export function asNumbers(c: ConstTensor): number[] {
  return Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v))
}

export { DT as DataType }
