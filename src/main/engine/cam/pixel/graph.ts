import { buildBackward } from '../../autodiff/walker'
import { DataType } from '../../onnx/tensor-data'
import type { LoadedModel } from '../../model/loaded-model'
import { targetedGraph } from '../graph'

export interface InputGradientGraph {
  bytes: Uint8Array
  logits: string
  scores: string
  target: string
  /** d score[target] / d input, in the input's own shape and layout. */
  gradient: string
}

/**
 * The pixel attributions' graph: logits, the target (top-1 resolved in-graph, as the CAM graph) and the
 * gradient of the target's class score with respect to the model input, in one onnxruntime run. The
 * input is just one more `wrt` of the backward pass; a batch may hold images or points on a path.
 */
export function buildInputGradientGraph(m: LoadedModel): InputGradientGraph {
  const { b, scores, wanted, seed, shapeLike } = targetedGraph(m)
  const gradient = buildBackward({
    index: m.index,
    builder: b,
    shapes: m.shapes,
    types: m.types,
    wrt: [m.inputName],
    seeds: new Map([[m.score.name, shapeLike(seed)]])
  }).get(m.inputName)!
  const outputs = [...new Set([m.logitsName, scores])]
  b.setOutputs([...outputs, wanted, gradient], [...outputs.map(() => DataType.FLOAT), DataType.INT64, DataType.FLOAT])
  return { bytes: b.encode(), logits: m.logitsName, scores, target: wanted, gradient }
}
