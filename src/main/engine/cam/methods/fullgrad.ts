import { ApiError } from '../../../../shared/errors'
import { buildBackward } from '../../autodiff/walker'
import type { GraphBuilder } from '../../onnx/builder'
import { DataType } from '../../onnx/tensor-data'
import type { LoadedModel } from '../../model/loaded-model'
import { targetedGraph, type CamGraph } from '../graph'
import { TOP1, type CamTarget } from '../objective'
import type { GradientCamModule } from './base'

/** pytorch-grad-cam's scale_cam_image epsilon. */
const EPS = 1e-7

/** A tensor FullGrad reads: the output of a Conv with a constant bias, or of a BatchNormalization, and that bias. */
export interface BiasLayer {
  tensor: string
  bias: Float32Array
}

/**
 * The bias layers of pytorch-grad-cam's FullGrad, in the ONNX graph: every 2-D Conv with a constant
 * bias and every BatchNormalization (bias beta - mean * gamma / sqrt(var + eps)) whose output reaches
 * the class scores. A BN folded into its Conv by the export is that Conv's bias, the same term when the
 * Conv had none of its own (as in ResNets); a Conv with its own bias followed by a kept BN is two terms.
 */
export function biasLayers(m: LoadedModel): BiasLayer[] {
  const reaches = new Set<string>()
  const stack = [m.score.name]
  while (stack.length) {
    const t = stack.pop()!
    if (!t || reaches.has(t)) continue
    reaches.add(t)
    stack.push(...(m.index.producer.get(t)?.inputs ?? []))
  }
  const floats = (name: string | undefined) => {
    const c = name ? m.index.constant(name) : null
    return c && c.dataType === DataType.FLOAT ? Float32Array.from(c.data as ArrayLike<number>) : null
  }
  const out: BiasLayer[] = []
  for (const n of m.index.nodes) {
    const y = n.outputs[0]
    if (!y || !reaches.has(y) || m.shapes.get(y)?.length !== 4) continue
    if (n.opType === 'Conv' && n.inputs[2]) {
      const bias = floats(n.inputs[2])
      if (bias) out.push({ tensor: y, bias })
    } else if (n.opType === 'BatchNormalization') {
      const [gamma, beta, mean, variance] = n.inputs.slice(1, 5).map(floats)
      if (!gamma || !beta || !mean || !variance) continue
      const eps = typeof n.attrs.epsilon === 'number' ? n.attrs.epsilon : 1e-5
      out.push({ tensor: y, bias: beta.map((b, k) => b - (mean[k] * gamma[k]) / Math.sqrt(variance[k] + eps)) })
    }
  }
  return out
}

/** Per-map min-max over `axes`: (x - min) / (1e-7 + max(x - min)), as scale_cam_image. */
function minMaxOver(b: GraphBuilder, x: string, axes: number[]): string {
  const shifted = b.op('Sub', [x, b.reduce('ReduceMin', x, axes)])
  return b.op('Div', [shifted, b.op('Add', [b.reduce('ReduceMax', shifted, axes), b.constF32([EPS], [])])])
}

/**
 * FullGrad (Srinivas & Fleuret 2019, as pytorch-grad-cam computes it): |x * dy/dx| with each input
 * channel min-max scaled, plus, for every bias layer, |b_k * dy/dz_k| with each channel min-max scaled,
 * upsampled to the input size and summed over channels; the sum over all of them, min-max scaled. It
 * reads every bias layer of the network, not the chosen layer. One backward pass gives every gradient.
 * Upsampling is linear, so each layer's channels are summed before its one resize (the same numbers as
 * pytorch-grad-cam's resize of every channel, at a fraction of the memory).
 */
export function buildFullGradGraph(m: LoadedModel, target: CamTarget = TOP1): CamGraph {
  const { b, scores, output, wanted, scoreSeed, objective, mask } = targetedGraph(m, target)
  const layers = biasLayers(m)
  let grads: Map<string, string>
  try {
    grads = buildBackward({ index: m.index, builder: b, shapes: m.shapes, types: m.types, wrt: [m.inputName, ...layers.map((l) => l.tensor)], seeds: new Map([[m.score.name, scoreSeed]]) })
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.code, `FullGrad differentiates every bias layer and the input: ${err.message}`, err.file, { ...err.details, field: 'method' })
    throw err
  }
  const [, H, W] = m.inputChw
  const nchw = m.layout === 'NCHW'
  const inputMaps = minMaxOver(b, b.op('Abs', [b.op('Mul', [m.inputName, grads.get(m.inputName)!])]), nchw ? [2, 3] : [1, 2])
  let total = b.reduce('ReduceSum', inputMaps, [nchw ? 1 : 3]) // [B, 1, H, W] or [B, H, W, 1]
  if (!nchw) total = b.op('Transpose', [total], { perm: [0, 3, 1, 2] })
  // [B, 1, H, W] from the input's batch: onnxruntime's shape inference reads sizes built on Shape(total)
  // as empty when the model's batch is fixed (it then fails to load).
  const sizes = b.op('Concat', [b.op('Slice', [b.op('Shape', [m.inputName]), b.constI64([0]), b.constI64([1])]), b.constI64([1, H, W])], { axis: 0 })
  for (const l of layers) {
    const weighted = b.op('Abs', [b.op('Mul', [grads.get(l.tensor)!, b.constF32(l.bias, [1, l.bias.length, 1, 1])])])
    const summed = b.reduce('ReduceSum', minMaxOver(b, weighted, [2, 3]), [1]) // [B, 1, h, w]
    const [, , h, w] = m.shapes.get(l.tensor)!
    const resized = h === H && w === W ? summed : b.op('Resize', [summed, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
    total = b.op('Add', [total, resized])
  }
  const map = minMaxOver(b, total, [1, 2, 3])
  const outputs = [...new Set([output, scores]), objective]
  const masks = mask ? [mask] : []
  b.setOutputs([...outputs, wanted, total, map, ...masks], [...outputs.map(() => DataType.FLOAT), DataType.INT64, DataType.FLOAT, DataType.FLOAT, ...masks.map(() => DataType.INT64)])
  return { bytes: b.encode(), logits: output, scores, objective, target: wanted, raw: total, map, ...(mask ? { mask } : {}) }
}

/** FullGrad as a method: its own graph (every bias layer and the input); it has no single-layer form. */
export const fullgrad: GradientCamModule = {
  id: 'fullgrad',
  kind: 'gradient',
  reference: () => {
    throw new Error('FullGrad has no single-layer form')
  },
  emit: () => {
    throw new Error('FullGrad has no single-layer form')
  },
  graph: buildFullGradGraph
}
