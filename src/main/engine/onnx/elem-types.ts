import { graphOf } from './model-file'
import type { GraphIndex } from './ir'
import { DataType } from './tensor-data'

/** Ops whose outputs have a fixed element type, whatever their inputs are. */
const FIXED: Record<string, number[]> = {
  Shape: [DataType.INT64],
  Size: [DataType.INT64],
  ArgMax: [DataType.INT64],
  ArgMin: [DataType.INT64],
  NonZero: [DataType.INT64],
  Equal: [DataType.BOOL],
  Less: [DataType.BOOL],
  LessOrEqual: [DataType.BOOL],
  Greater: [DataType.BOOL],
  GreaterOrEqual: [DataType.BOOL],
  Not: [DataType.BOOL],
  And: [DataType.BOOL],
  Or: [DataType.BOOL],
  Xor: [DataType.BOOL],
  IsNaN: [DataType.BOOL],
  IsInf: [DataType.BOOL]
}

/**
 * Element type of every tensor, propagated through the graph in order. ORT needs the types of the
 * graph outputs we add (for probing and for fetching intermediate tensors); most ops keep the type
 * of their first input, the rest are listed here.
 */
export function inferElemTypes(index: GraphIndex): Map<string, number> {
  const types = new Map<string, number>()
  const g = graphOf(index.model)
  for (const v of [...g.input, ...g.valueInfo, ...g.output]) {
    const t = v.type?.tensorType?.elemType
    if (v.name && t) types.set(v.name, t)
  }
  for (const t of g.initializer) if (t.name) types.set(t.name, t.dataType ?? DataType.FLOAT)
  for (const n of index.nodes) {
    let out: number[]
    const first = types.get(n.inputs[0]) ?? DataType.FLOAT
    switch (n.opType) {
      case 'Cast':
        out = [n.attrs.to as number]
        break
      case 'Constant': {
        const v = n.attrs.value
        out = [v && typeof v === 'object' && !Array.isArray(v) ? v.dataType : 'value_ints' in n.attrs ? DataType.INT64 : DataType.FLOAT]
        break
      }
      case 'ConstantOfShape': {
        const v = n.attrs.value
        out = [v && typeof v === 'object' && !Array.isArray(v) ? v.dataType : DataType.FLOAT]
        break
      }
      case 'Where':
        out = [types.get(n.inputs[1]) ?? DataType.FLOAT]
        break
      case 'OneHot':
        out = [types.get(n.inputs[2]) ?? DataType.FLOAT]
        break
      case 'MaxPool':
      case 'TopK':
        out = [first, DataType.INT64]
        break
      default:
        out = FIXED[n.opType] ?? n.outputs.map(() => first)
    }
    n.outputs.forEach((o, i) => {
      if (o && !types.has(o)) types.set(o, out[i] ?? out[0])
    })
  }
  return types
}

export function isFloatType(t: number | undefined): boolean {
  return t === DataType.FLOAT || t === DataType.DOUBLE || t === DataType.FLOAT16 || t === DataType.BFLOAT16
}
