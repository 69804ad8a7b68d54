import { graphOf, type ModelProto } from '../onnx/model-file'
import { decodeTensor } from '../onnx/tensor-data'

/** Named float tensors: the weights a training run updates, kept outside any graph. */
export type ParamStore = Map<string, { dims: number[]; data: Float32Array }>

/** The named initializers of `model` as a ParamStore (copies: the model stays as it was). */
export function readParams(model: ModelProto, names: string[]): ParamStore {
  const wanted = new Set(names)
  const store: ParamStore = new Map()
  for (const t of graphOf(model).initializer) {
    if (!wanted.has(t.name ?? '')) continue
    const c = decodeTensor(t)
    store.set(t.name!, { dims: c.dims, data: Float32Array.from(c.data as Float32Array) })
  }
  const missing = names.filter((n) => !store.has(n))
  if (missing.length) throw new Error(`no weights named ${missing.join(', ')}`)
  return store
}
