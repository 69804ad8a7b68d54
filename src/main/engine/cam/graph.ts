import { ApiError } from '../../../shared/errors'
import { buildBackward } from '../autodiff/walker'
import { GraphBuilder } from '../onnx/builder'
import { DataType } from '../onnx/tensor-data'
import type { LoadedModel } from '../model/loaded-model'
import { emitMapTail, emitRawCam } from './graph-maps'
import { layerLayout } from './layers'
import type { GradientMethod } from './methods'

export const TARGET_INPUT = '__ms/target'

export interface CamGraph {
  bytes: Uint8Array
  logits: string
  /** The class each image's map was computed for (top-1 resolved in-graph). */
  target: string
  /** ReLU'd raw map [B, 1, h, w] and final map [B, 1, H, W]. */
  raw: string
  map: string
}

/**
 * One graph that returns logits, the target class and the finished maps of a gradient CAM method in
 * a single onnxruntime run. The seed is built in-graph: target input -1 means top-1 (ArgMax),
 * otherwise the given class; OneHot of it is the gradient of the class score w.r.t. the logits.
 */
export function buildCamGraph(m: LoadedModel, layer: string, method: GradientMethod): CamGraph {
  if (m.index.opset < 13) {
    throw new ApiError('unsupported', `${m.file} uses ONNX opset ${m.index.opset}; gradients need opset 13 or newer (re-export with opset_version=13).`, m.path)
  }
  const b = new GraphBuilder(m.model)
  b.addInput(TARGET_INPUT, DataType.INT64, [m.dynamicBatch ? 'batch' : m.fixedBatch])
  const top = b.op('ArgMax', [m.logitsName], { axis: 1, keepdims: 0 })
  const wanted = b.op('Where', [b.op('Less', [TARGET_INPUT, b.constI64([0], [])]), top, TARGET_INPUT])
  const seed = b.op('OneHot', [wanted, b.constI64([m.numClasses], []), b.constF32([0, 1])], { axis: -1 })
  const gradients = buildBackward({
    index: m.index,
    builder: b,
    shapes: m.shapes,
    types: m.types,
    wrt: [layer],
    seeds: new Map([[m.logitsName, seed]])
  }).get(layer)!
  const [, height, width] = m.inputChw
  // The CAM formulas are written channels-first; a channels-last layer is transposed in-graph.
  const nchw = (t: string) => (layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [t], { perm: [0, 3, 1, 2] }) : t)
  const { raw, map } = emitMapTail(b, emitRawCam(b, method, nchw(layer), nchw(gradients)), height, width)
  b.setOutputs([m.logitsName, wanted, raw, map], [DataType.FLOAT, DataType.INT64, DataType.FLOAT, DataType.FLOAT])
  return { bytes: b.encode(), logits: m.logitsName, target: wanted, raw, map }
}

/**
 * A forward-only graph that also returns one intermediate tensor, channels-first (Eigen-CAM,
 * Score-CAM). Returns the graph and the name of that output.
 */
export function buildActivationGraph(m: LoadedModel, layer: string): { bytes: Uint8Array; activations: string } {
  const b = new GraphBuilder(m.model)
  const activations = layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [layer], { perm: [0, 3, 1, 2] }) : layer
  b.setOutputs([m.logitsName, activations], [DataType.FLOAT, DataType.FLOAT])
  return { bytes: b.encode(), activations }
}
