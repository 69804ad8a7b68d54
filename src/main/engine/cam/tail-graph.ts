import type { GraphIndex } from '../onnx/ir'
import { emptyBuilderFor, instantiate } from '../onnx/graph-edit'
import { DataType } from '../onnx/tensor-data'
import type { LoadedModel } from '../model/loaded-model'
import { layerLayout } from '../model/layers'

/** The tail graph's input holding the layer's (edited) activations, channels-first. */
export const TAIL_LAYER_INPUT = '__ms/layer'

export interface TailGraph {
  bytes: Uint8Array
  /** Input for the layer's activations [B, K, h, w] (channels-first whatever the layer's layout). */
  layerInput: string
  /** The model's image input when the rest of the network still needs it (a skip branch around the layer), else null. */
  imageInput: string | null
  /** The class scores [B, classes]. */
  scores: string
}

/**
 * The model from one layer on, to its class scores: what AblationCAM re-runs with a channel of the
 * layer ablated. Only the nodes after the layer are copied; a branch that joins later without passing
 * through the layer (a residual skip around it) is recomputed from the image, so the image is an
 * input too in that case. The model's own opset is kept (the copied nodes mean what they meant).
 */
export function buildTailGraph(m: LoadedModel, layer: string): TailGraph {
  const b = emptyBuilderFor(m.model, m.index.opset, '__ms_tail')
  const [k, h, w] = layerShape(m, layer)
  const nhwc = layerLayout(m.index, layer) === 'NHWC'
  b.addInput(TAIL_LAYER_INPUT, DataType.FLOAT, ['batch', k, h, w])
  const bound = nhwc ? b.op('Transpose', [TAIL_LAYER_INPUT], { perm: [0, 2, 3, 1] }) : TAIL_LAYER_INPUT
  const bind = new Map([[layer, bound]])
  const image = reaches(m.index, m.score.name, layer, m.inputName)
  if (image) {
    bind.set(m.inputName, m.inputName)
    b.addInput(m.inputName, DataType.FLOAT, ['batch', ...m.inputDims(1).slice(1)])
  }
  const rename = instantiate(b, m.index, { bind, outputs: [m.score.name], prefix: '__ms_tail/' })
  const score = rename.get(m.score.name)!
  // As scoresOf (graph.ts): a segmentation model's class scores are each class's mean over the output pixels.
  const scores = m.segmentation
    ? b.reduce('ReduceMean', score, [2, 3], 0)
    : m.shapes.get(m.score.name)?.length === 2
      ? score
      : b.op('Reshape', [score, b.constI64([-1, m.numClasses])])
  b.setOutputs([scores], [DataType.FLOAT])
  return { bytes: b.encode(), layerInput: TAIL_LAYER_INPUT, imageInput: image ? m.inputName : null, scores }
}

/** The layer's [K, h, w], channels-first. */
function layerShape(m: LoadedModel, layer: string): [number, number, number] {
  const s = m.shapes.get(layer)
  if (!s || s.length !== 4) throw new Error(`${layer} has no known 4-D shape`)
  const [, a, b, c] = s as number[]
  return layerLayout(m.index, layer) === 'NHWC' ? [c, a, b] : [a, b, c]
}

/** Whether `to` is needed to compute `from` on a path that does not go through `stop`. */
function reaches(index: GraphIndex, from: string, stop: string, to: string): boolean {
  const seen = new Set<string>()
  const stack = [from]
  while (stack.length) {
    const t = stack.pop()!
    if (!t || t === stop || seen.has(t)) continue
    if (t === to) return true
    seen.add(t)
    const p = index.producer.get(t)
    if (p) stack.push(...p.inputs)
  }
  return false
}
