import { ApiError } from '../../../../shared/errors'
import { buildBackward } from '../../autodiff/walker'
import { GraphBuilder } from '../../onnx/builder'
import { DataType } from '../../onnx/tensor-data'
import type { LoadedModel } from '../../model/loaded-model'
import { scoresOf, TARGET_INPUT } from '../graph'

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
  if (m.index.opset < 13) {
    throw new ApiError('unsupported', `${m.file} uses ONNX opset ${m.index.opset}; gradients need opset 13 or newer (re-export with opset_version=13).`, m.path)
  }
  const b = new GraphBuilder(m.model)
  b.addInput(TARGET_INPUT, DataType.INT64, [m.dynamicBatch ? 'batch' : m.fixedBatch])
  const { scores, shapeLike } = scoresOf(b, m)
  const top = b.op('ArgMax', [scores], { axis: 1, keepdims: 0 })
  const wanted = b.op('Where', [b.op('Less', [TARGET_INPUT, b.constI64([0], [])]), top, TARGET_INPUT])
  const seed = b.op('OneHot', [wanted, b.constI64([m.numClasses], []), b.constF32([0, 1])], { axis: -1 })
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
