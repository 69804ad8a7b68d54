import { onnx } from 'onnx-proto'
import { valueInfo } from '../../../onnx/builder'
import { emptyBuilderFor, instantiate } from '../../../onnx/graph-edit'
import { graphOf, type ModelProto } from '../../../onnx/model-file'
import { DataType, f32 } from '../../../onnx/tensor-data'
import type { LoadedModel } from '../../../model/loaded-model'
import type { EpisodeGraph } from '../../episode-graph'
import type { Net } from '../../net'
import { buildUnrolled } from '../../unroll'
import type { HeadFeatures, HeadWeights } from '../head-net'

export const TAIL_INPUT = 'cut_in'
export const TAIL_FEATURES = 'tail_features'
export const TAIL_LOGITS = 'tail_logits'
export const TAIL_WEIGHT = 'tail_head.weight'
export const TAIL_BIAS = 'tail_head.bias'

/**
 * The part of the model that fine-tunes, as a few-shot Net: input `cut_in` (the cut tensor, batch
 * axis open), the model's own nodes from the cut to the features (flattened to [B, F]), then a new
 * Gemm head -> `tail_logits` [B, N]. Outputs the logits and the features. `trainable` are the block
 * weights (names as in the model) followed by the head's.
 */
export function tailNet(model: LoadedModel, cut: string, cutShape: [number, number, number], at: HeadFeatures, head: HeadWeights, trainable: string[]): Net {
  const n = head.bias.length
  const b = emptyBuilderFor(model.model, 1, '__ms_tail')
  b.addInput(TAIL_INPUT, DataType.FLOAT, ['batch', ...cutShape])
  const rename = instantiate(b, model.index, { bind: new Map([[cut, TAIL_INPUT]]), outputs: [at.tensor], prefix: 'tail/' })
  b.node('Flatten', [rename.get(at.tensor)!], { axis: 1 }, [TAIL_FEATURES])
  b.namedConstant(TAIL_WEIGHT, f32(head.weight, [n, at.width]))
  b.namedConstant(TAIL_BIAS, f32(head.bias, [n]))
  b.node('Gemm', [TAIL_FEATURES, TAIL_WEIGHT, TAIL_BIAS], { transB: 1 }, [TAIL_LOGITS])
  b.setOutputs([TAIL_LOGITS])
  const built = b.build()
  const g = graphOf(built)
  // Only the initializers the tail reads (the builder starts from all of the model's).
  const used = new Set(g.node.flatMap((x) => x.input ?? []))
  const output = [valueInfo(TAIL_LOGITS, DataType.FLOAT, ['batch', n]), valueInfo(TAIL_FEATURES, DataType.FLOAT, ['batch', at.width])]
  const tail = onnx.ModelProto.create({ ...built, graph: onnx.GraphProto.create({ ...g, initializer: g.initializer.filter((t) => used.has(t.name ?? '')), output }) })
  const [c, h, w] = cutShape
  return {
    model: tail,
    inputName: TAIL_INPUT,
    inputChw: [c, h, w],
    logitsName: TAIL_LOGITS,
    featuresName: TAIL_FEATURES,
    featureDim: at.width,
    params: [...trainable, TAIL_WEIGHT, TAIL_BIAS],
    headParams: [TAIL_WEIGHT, TAIL_BIAS]
  }
}

export interface TrainingGraphSpec {
  model: ModelProto
  inputName: string
  /** The dims of one input (after the batch axis), as the Net's inputChw. */
  inputChw: [number, number, number]
  /** The class scores (before any final softmax). */
  logitsName: string
  classes: number
  batch: number
  trainable: string[]
}

/**
 * A training graph: inputs `query` (the input batch), `query_labels` (one-hot) and the trainable
 * weights; outputs the mean softmax cross-entropy, the logits and every weight's gradient, in one
 * onnxruntime run. It is the unrolled inner loop with no inner steps (fewshot/unroll.ts), so plain
 * training and meta-learning share one compiler.
 */
export function compileTrainingGraph(s: TrainingGraphSpec): Promise<EpisodeGraph> {
  return buildUnrolled({
    net: { model: s.model, inputName: s.inputName, inputChw: s.inputChw, logitsName: s.logitsName, featuresName: s.logitsName, featureDim: 0, params: s.trainable, headParams: ['', ''] },
    metaParams: s.trainable,
    inner: [],
    steps: 0,
    alpha: 0,
    order: 'first',
    headInit: 'params',
    ways: s.classes,
    supportBatch: s.batch,
    queryBatch: s.batch
  })
}

/** `model` with the named initializers' values replaced (the fine-tuned block weights), everything else as it was. */
export function withWeights(model: ModelProto, weights: Map<string, Float32Array>): ModelProto {
  const g = graphOf(model)
  const initializer = g.initializer.map((t) => {
    const w = weights.get(t.name ?? '')
    return w ? onnx.TensorProto.create({ name: t.name, dims: t.dims, dataType: DataType.FLOAT, rawData: new Uint8Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength)) }) : t
  })
  return onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...g, initializer }) })
}
