import { ApiError } from '../../../shared/errors'
import { buildBackward } from '../autodiff/walker'
import { GraphBuilder } from '../onnx/builder'
import { DataType } from '../onnx/tensor-data'
import type { LoadedModel } from '../model/loaded-model'
import { emitMapTail, emitRawCam } from './graph-maps'
import { layerLayout } from '../model/layers'
import { camMethod, type CamMethod } from './methods'
import { emitObjective, TOP1, type CamTarget } from './objective'

export const TARGET_INPUT = '__ms/target'

export interface CamGraph {
  bytes: Uint8Array
  /** The model's own output per image, [B, classes] (probabilities when it ends in Softmax/Sigmoid). */
  logits: string
  /** The class scores the maps differentiate, [B, classes]: the tensor before a final activation. */
  scores: string
  /** What each image's map differentiates, [B] (the target class's score, a contrast, a region's sum, a similarity). */
  objective: string
  /** The class each image's map was computed for (top-1 resolved in-graph). */
  target: string
  /** A segmentation model's predicted class per output pixel, [B, H, W] int64. */
  mask?: string
  /** ReLU'd raw map [B, 1, h, w] and final map [B, 1, H, W]. */
  raw: string
  map: string
}

/**
 * The start every gradient graph shares: the model with a target input (-1 = top-1, resolved in-graph by
 * ArgMax, else the given class), the scores as [B, classes], the class each image is explained for, and
 * the one-hot seed of d score[target] / d scores. `target` (default: the class of the target input)
 * sets what is differentiated (cam/objective.ts): `scoreSeed` is its seed at the score tensor (what
 * buildBackward takes), `objective` its value per image [B]. Gradients need opset 13 (the autodiff's rules).
 */
export function targetedGraph(
  m: LoadedModel,
  target: CamTarget = TOP1,
  reseed?: (b: GraphBuilder, scores: string, seed: string, classes: number) => string
): { b: GraphBuilder; scores: string; output: string; wanted: string; seed: string; shapeLike: (seed: string) => string; scoreSeed: string; objective: string; mask: string | null } {
  if (m.index.opset < 13) {
    throw new ApiError('unsupported', `${m.file} uses ONNX opset ${m.index.opset}; gradients need opset 13 or newer (re-export with opset_version=13).`, m.path)
  }
  const b = new GraphBuilder(m.model)
  b.addInput(TARGET_INPUT, DataType.INT64, [m.dynamicBatch ? 'batch' : m.fixedBatch])
  const { scores, output, shapeLike } = scoresOf(b, m)
  const top = b.op('ArgMax', [scores], { axis: 1, keepdims: 0 })
  const wanted = b.op('Where', [b.op('Less', [TARGET_INPUT, b.constI64([0], [])]), top, TARGET_INPUT])
  const oneHot = b.op('OneHot', [wanted, b.constI64([m.numClasses], []), b.constF32([0, 1])], { axis: -1 })
  const seed = reseed ? reseed(b, scores, oneHot, m.numClasses) : oneHot
  const { scoreSeed, objective } = emitObjective(b, m, target, { scores, seed, shapeLike })
  // A segmentation model's predicted mask [B, H, W] (int64 class per output pixel), shown under the map.
  const mask = m.segmentation ? b.op('ArgMax', [m.score.name], { axis: 1, keepdims: 0 }) : null
  return { b, scores, output, wanted, seed, shapeLike, scoreSeed, objective, mask }
}

/**
 * The class scores as [B, classes] (a score tensor may be [B, K, 1, 1] before a Flatten), and a
 * function shaping a [B, classes] seed like the score tensor itself. `output` is the model's own output
 * per image, [B, classes]. A segmentation model's [B, C, H, W] scores and output are read as each
 * class's mean over the output pixels, so a class target's seed is spread evenly over them.
 */
export function scoresOf(b: GraphBuilder, m: LoadedModel): { scores: string; output: string; shapeLike: (seed: string) => string } {
  const name = m.score.name
  if (m.segmentation) {
    const [, c, h, w] = m.shapes.get(name)!
    return {
      scores: b.reduce('ReduceMean', name, [2, 3], 0),
      output: b.reduce('ReduceMean', m.logitsName, [2, 3], 0),
      shapeLike: (seed) => b.op('Expand', [b.op('Reshape', [b.op('Mul', [seed, b.constF32([1 / (h * w)], [])]), b.constI64([-1, c, 1, 1])]), b.op('Shape', [name])])
    }
  }
  if (m.shapes.get(name)?.length === 2) return { scores: name, output: m.logitsName, shapeLike: (seed) => seed }
  return {
    scores: b.op('Reshape', [name, b.constI64([-1, m.numClasses], [2])]),
    output: m.logitsName,
    shapeLike: (seed) => b.op('Reshape', [seed, b.op('Shape', [name])])
  }
}

/**
 * One graph that returns logits, the target class and the finished maps of a gradient CAM method in
 * a single onnxruntime run. The seed is built in-graph: target input -1 means top-1 (ArgMax),
 * otherwise the given class; OneHot of it is the gradient of the class score w.r.t. the scores.
 * The scores are the tensor before a final Softmax (Grad-CAM's y^c is the score, not the probability).
 */
export function buildCamGraph(m: LoadedModel, layer: string, method: CamMethod, target: CamTarget = TOP1): CamGraph {
  const { b, scores, output, wanted, scoreSeed, objective, mask } = targetedGraph(m, target, reseedOf(method))
  const gradients = layerGradients(() =>
    buildBackward({
      index: m.index,
      builder: b,
      shapes: m.shapes,
      types: m.types,
      wrt: [layer],
      seeds: new Map([[m.score.name, scoreSeed]])
    }).get(layer)!
  )
  const [, height, width] = m.inputChw
  // The CAM formulas are written channels-first; a channels-last layer is transposed in-graph.
  const nchw = (t: string) => (layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [t], { perm: [0, 3, 1, 2] }) : t)
  const { raw, map } = emitMapTail(b, emitRawCam(b, method, nchw(layer), nchw(gradients)), height, width)
  const outputs = [...new Set([output, scores]), objective]
  const masks = mask ? [mask] : []
  b.setOutputs([...outputs, wanted, raw, map, ...masks], [...outputs.map(() => DataType.FLOAT), DataType.INT64, DataType.FLOAT, DataType.FLOAT, ...masks.map(() => DataType.INT64)])
  return { bytes: b.encode(), logits: output, scores, objective, target: wanted, raw, map, ...(mask ? { mask } : {}) }
}

/**
 * The backward pass to the layer: an op on the way that has no gradient is the chosen layer's problem
 * (a layer nearer the output, or a forward-only method, avoids it), so its error names that field.
 */
export function layerGradients(build: () => string): string {
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
export function buildActivationGraph(m: LoadedModel, layer: string): { bytes: Uint8Array; activations: string; scores: string; output: string } {
  const b = new GraphBuilder(m.model)
  const activations = layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [layer], { perm: [0, 3, 1, 2] }) : layer
  const { scores, output } = scoresOf(b, m)
  const outputs = [...new Set([output, scores, activations])]
  b.setOutputs(outputs, outputs.map(() => DataType.FLOAT))
  return { bytes: b.encode(), activations, scores, output }
}

/** A forward-only graph whose output is the class scores [B, classes] (Score-CAM's masked passes). */
export function buildScoresGraph(m: LoadedModel): { bytes: Uint8Array; scores: string } {
  const b = new GraphBuilder(m.model)
  const { scores } = scoresOf(b, m)
  b.setOutputs([scores], [DataType.FLOAT])
  return { bytes: b.encode(), scores }
}

/** A gradient method's own seed (FinerCAM), if it has one. */
function reseedOf(method: CamMethod): ((b: GraphBuilder, scores: string, seed: string, classes: number) => string) | undefined {
  const m = camMethod(method)
  return m.kind === 'gradient' ? m.reseed : undefined
}
