import { ApiError } from '../../../shared/errors'
import { buildBackward } from '../autodiff/walker'
import { GraphBuilder } from '../onnx/builder'
import { DataType } from '../onnx/tensor-data'
import type { LoadedModel } from '../model/loaded-model'
import { emitMapTail, emitRawCam } from './graph-maps'
import { layerLayout } from '../model/layers'
import type { CamMethod } from './methods'

export const TARGET_INPUT = '__ms/target'

export interface CamGraph {
  bytes: Uint8Array
  /** The model's own output (probabilities when it ends in Softmax/Sigmoid). */
  logits: string
  /** The class scores the maps differentiate, [B, classes]: the tensor before a final activation. */
  scores: string
  /** The class each image's map was computed for (top-1 resolved in-graph). */
  target: string
  /** ReLU'd raw map [B, 1, h, w] and final map [B, 1, H, W]. */
  raw: string
  map: string
}

/**
 * The start every gradient graph shares: the model with a target input (-1 = top-1, resolved in-graph by
 * ArgMax, else the given class), the scores as [B, classes], the class each image is explained for, and
 * the one-hot seed of d score[target] / d scores. Gradients need opset 13 (the autodiff's rules).
 */
export function targetedGraph(m: LoadedModel): { b: GraphBuilder; scores: string; wanted: string; seed: string; shapeLike: (seed: string) => string } {
  if (m.index.opset < 13) {
    throw new ApiError('unsupported', `${m.file} uses ONNX opset ${m.index.opset}; gradients need opset 13 or newer (re-export with opset_version=13).`, m.path)
  }
  const b = new GraphBuilder(m.model)
  b.addInput(TARGET_INPUT, DataType.INT64, [m.dynamicBatch ? 'batch' : m.fixedBatch])
  const { scores, shapeLike } = scoresOf(b, m)
  const top = b.op('ArgMax', [scores], { axis: 1, keepdims: 0 })
  const wanted = b.op('Where', [b.op('Less', [TARGET_INPUT, b.constI64([0], [])]), top, TARGET_INPUT])
  const seed = b.op('OneHot', [wanted, b.constI64([m.numClasses], []), b.constF32([0, 1])], { axis: -1 })
  return { b, scores, wanted, seed, shapeLike }
}

/**
 * The class scores as [B, classes] (a score tensor may be [B, K, 1, 1] before a Flatten), and a
 * function shaping a [B, classes] seed like the score tensor itself.
 */
export function scoresOf(b: GraphBuilder, m: LoadedModel): { scores: string; shapeLike: (seed: string) => string } {
  const name = m.score.name
  if (m.shapes.get(name)?.length === 2) return { scores: name, shapeLike: (seed) => seed }
  return {
    scores: b.op('Reshape', [name, b.constI64([-1, m.numClasses], [2])]),
    shapeLike: (seed) => b.op('Reshape', [seed, b.op('Shape', [name])])
  }
}

/**
 * One graph that returns logits, the target class and the finished maps of a gradient CAM method in
 * a single onnxruntime run. The seed is built in-graph: target input -1 means top-1 (ArgMax),
 * otherwise the given class; OneHot of it is the gradient of the class score w.r.t. the scores.
 * The scores are the tensor before a final Softmax (Grad-CAM's y^c is the score, not the probability).
 */
export function buildCamGraph(m: LoadedModel, layer: string, method: CamMethod): CamGraph {
  const { b, scores, wanted, seed, shapeLike } = targetedGraph(m)
  const gradients = layerGradients(() =>
    buildBackward({
      index: m.index,
      builder: b,
      shapes: m.shapes,
      types: m.types,
      wrt: [layer],
      seeds: new Map([[m.score.name, shapeLike(seed)]])
    }).get(layer)!
  )
  const [, height, width] = m.inputChw
  // The CAM formulas are written channels-first; a channels-last layer is transposed in-graph.
  const nchw = (t: string) => (layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [t], { perm: [0, 3, 1, 2] }) : t)
  const { raw, map } = emitMapTail(b, emitRawCam(b, method, nchw(layer), nchw(gradients)), height, width)
  const outputs = [...new Set([m.logitsName, scores])]
  b.setOutputs([...outputs, wanted, raw, map], [...outputs.map(() => DataType.FLOAT), DataType.INT64, DataType.FLOAT, DataType.FLOAT])
  return { bytes: b.encode(), logits: m.logitsName, scores, target: wanted, raw, map }
}

/**
 * The backward pass to the layer: an op on the way that has no gradient is the chosen layer's problem
 * (a layer nearer the output, or a forward-only method, avoids it), so its error names that field.
 */
function layerGradients(build: () => string): string {
  try {
    return build()
  } catch (err) {
    if (err instanceof ApiError && (err.details?.constraint === 'no-gradient' || err.details?.constraint === 'gradient-failed')) {
      throw new ApiError(err.code, err.message, err.file, { ...err.details, field: 'layer' })
    }
    throw err
  }
}

/**
 * A forward-only graph that also returns one intermediate tensor, channels-first (Eigen-CAM,
 * Score-CAM). Returns the graph and the name of that output.
 */
export function buildActivationGraph(m: LoadedModel, layer: string): { bytes: Uint8Array; activations: string; scores: string } {
  const b = new GraphBuilder(m.model)
  const activations = layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [layer], { perm: [0, 3, 1, 2] }) : layer
  const { scores } = scoresOf(b, m)
  const outputs = [...new Set([m.logitsName, scores, activations])]
  b.setOutputs(outputs, outputs.map(() => DataType.FLOAT))
  return { bytes: b.encode(), activations, scores }
}

/** A forward-only graph whose output is the class scores [B, classes] (Score-CAM's masked passes). */
export function buildScoresGraph(m: LoadedModel): { bytes: Uint8Array; scores: string } {
  const b = new GraphBuilder(m.model)
  const { scores } = scoresOf(b, m)
  b.setOutputs([scores], [DataType.FLOAT])
  return { bytes: b.encode(), scores }
}
