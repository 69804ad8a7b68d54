import { buildBackward } from '../../autodiff/walker'
import type { VjpRule } from '../../autodiff/types'
import { DataType } from '../../onnx/tensor-data'
import type { LoadedModel } from '../../model/loaded-model'
import { layerLayout } from '../../model/layers'
import { layerGradients, targetedGraph } from '../graph'
import type { CamTarget } from '../objective'
import { emitRawCam } from '../graph-maps'

export interface InputGradientGraph {
  bytes: Uint8Array
  logits: string
  scores: string
  /** What each image's map differentiates, [B] (see targetedGraph). */
  objective: string
  /** A segmentation model's predicted class per output pixel, [B, H, W] int64. */
  mask?: string
  target: string
  /** d score[target] / d input, in the input's own shape and layout (through the overridden rules, if any). */
  gradient: string
  /** Guided Grad-CAM: the layer's ReLU'd Grad-CAM [B, 1, h, w], from the true gradients. */
  cam?: string
}

export interface InputGradientOptions {
  /** Backward rules replacing the true ones on the way to the input (Guided Backprop, Deconvnet). */
  overrides?: Readonly<Record<string, VjpRule>>
  /** A layer whose Grad-CAM the graph also returns (Guided Grad-CAM). */
  camLayer?: string
  /** What is differentiated (cam/objective.ts); default: the class of the target input. */
  target?: CamTarget
}

/**
 * The pixel attributions' graph: logits, the target (top-1 resolved in-graph, as the CAM graph) and the
 * gradient of the target's class score with respect to the model input, in one onnxruntime run. The
 * input is just one more `wrt` of the backward pass; a batch may hold images or points on a path.
 * A layer's Grad-CAM comes from a second backward pass with the true rules, in the same run.
 */
export function buildInputGradientGraph(m: LoadedModel, o: InputGradientOptions = {}): InputGradientGraph {
  const { b, scores, output, wanted, scoreSeed, objective, mask } = targetedGraph(m, o.target)
  const backward = (wrt: string, overrides?: InputGradientOptions['overrides']) =>
    buildBackward({ index: m.index, builder: b, shapes: m.shapes, types: m.types, wrt: [wrt], seeds: new Map([[m.score.name, scoreSeed]]), overrides }).get(wrt)!
  const gradient = backward(m.inputName, o.overrides)
  let cam: string | undefined
  if (o.camLayer) {
    const layer = o.camLayer
    const grads = layerGradients(() => backward(layer))
    // Grad-CAM is written channels-first; a channels-last layer is transposed in-graph (as buildCamGraph).
    const nchw = (t: string) => (layerLayout(m.index, layer) === 'NHWC' ? b.op('Transpose', [t], { perm: [0, 3, 1, 2] }) : t)
    cam = b.op('Relu', [emitRawCam(b, 'gradcam', nchw(layer), nchw(grads))])
  }
  const outputs = [...new Set([output, scores]), objective]
  const extra = cam ? [cam] : []
  const masks = mask ? [mask] : []
  b.setOutputs([...outputs, wanted, gradient, ...extra, ...masks], [...outputs.map(() => DataType.FLOAT), DataType.INT64, DataType.FLOAT, ...extra.map(() => DataType.FLOAT), ...masks.map(() => DataType.INT64)])
  return { bytes: b.encode(), logits: output, scores, objective, target: wanted, gradient, ...(cam ? { cam } : {}), ...(mask ? { mask } : {}) }
}
