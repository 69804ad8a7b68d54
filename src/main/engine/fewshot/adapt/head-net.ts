import { onnx } from 'onnx-proto'
import { GraphBuilder, valueInfo } from '../../onnx/builder'
import { emptyBuilderFor, instantiate } from '../../onnx/graph-edit'
import { graphOf, type ModelProto } from '../../onnx/model-file'
import { DataType, f32 } from '../../onnx/tensor-data'
import type { LoadedModel } from '../../model/loaded-model'
import type { Net } from '../net'
import type { ClassifierHead } from './head'

/** A new N-way head: weight [N, F] (rows per class) and bias [N]. */
export interface HeadWeights {
  weight: Float32Array
  bias: Float32Array
}

/** Every tensor name a graph uses (inputs, outputs, weights, node outputs), so new names do not clash. */
function namesOf(model: ModelProto): Set<string> {
  const g = graphOf(model)
  const names = new Set<string>()
  for (const v of [...g.input, ...g.output]) names.add(v.name ?? '')
  for (const t of g.initializer) names.add(t.name ?? '')
  for (const n of g.node) for (const o of n.output ?? []) names.add(o)
  return names
}

function uniqueName(taken: Set<string>, base: string): string {
  let name = base
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`
  taken.add(name)
  return name
}

/** A linear map g = f A on the features before the head (adapter/file.ts): weight [inWidth, outWidth], row-major. */
export interface FeatureAdapter {
  inWidth: number
  outWidth: number
  weight: Float32Array
}

export interface BodyHeadModel {
  model: ModelProto
  net: Net
}

/** The tensor a new head reads: its name, values per image, and whether it must be flattened to [B, F] first. */
export interface HeadFeatures {
  tensor: string
  width: number
  flatten: boolean
}

/** The original head's input as HeadFeatures. */
export function headFeatures(head: ClassifierHead): HeadFeatures {
  return { tensor: head.features, width: head.featureDim, flatten: head.flatten }
}

/**
 * The imported model in the canonical few-shot form: its own graph up to the features tensor (the
 * head's input, or another chosen feature tensor; flattened to [B, F] if needed), then a new
 * Gemm(features, weight [N, F], bias [N], transB=1) -> `logits` [batch, N]. The original opset is
 * kept (no op of the body changes meaning); metadata is left empty for the caller to fill.
 */
export function bodyWithHead(model: LoadedModel, at: HeadFeatures, weights: HeadWeights, adapter?: FeatureAdapter): BodyHeadModel {
  const n = weights.bias.length
  // With an adapter the head reads its output, F' wide.
  const f = adapter ? adapter.outWidth : at.width
  if (adapter && (adapter.inWidth !== at.width || adapter.weight.length !== adapter.inWidth * adapter.outWidth)) {
    throw new Error(`bodyWithHead: the adapter maps ${adapter.inWidth} -> ${adapter.outWidth}, the features have ${at.width}`)
  }
  if (weights.weight.length !== n * f) throw new Error(`bodyWithHead: weight has ${weights.weight.length} values, expected ${n} x ${f}`)
  const taken = namesOf(model.model)
  const logitsName = uniqueName(taken, 'logits')
  const weightName = uniqueName(taken, 'head.weight')
  const biasName = uniqueName(taken, 'head.bias')
  // Opset 1 as the floor: the builder keeps whatever the model declares.
  const b = emptyBuilderFor(model.model, 1, '__ms_adapt')
  const input = model.summary.inputs[0]
  b.addInput(input.name, DataType.FLOAT, input.shape.map((d, i) => (d === null ? `dim${i}` : d)))
  const rename = instantiate(b, model.index, { bind: new Map([[model.inputName, model.inputName]]), outputs: [at.tensor], prefix: '' })
  let features = rename.get(at.tensor)!
  if (at.flatten) {
    features = uniqueName(taken, `${at.tensor}_flat`)
    b.node('Flatten', [rename.get(at.tensor)!], { axis: 1 }, [features])
  }
  const adapterName = adapter ? uniqueName(taken, 'adapter.weight') : null
  if (adapter && adapterName) {
    b.namedConstant(adapterName, f32(adapter.weight, [adapter.inWidth, adapter.outWidth]))
    const adapted = uniqueName(taken, `${at.tensor}_adapted`)
    b.node('MatMul', [features, adapterName], {}, [adapted])
    features = adapted
  }
  b.namedConstant(weightName, f32(weights.weight, [n, f]))
  b.namedConstant(biasName, f32(weights.bias, [n]))
  b.node('Gemm', [features, weightName, biasName], { transB: 1 }, [logitsName])
  const batchDim = input.shape[0]
  b.setOutputs([logitsName])
  const built = b.build()
  const g = graphOf(built)
  const output = valueInfo(logitsName, DataType.FLOAT, [typeof batchDim === 'number' || typeof batchDim === 'string' ? batchDim : 'batch', n])
  const out = onnx.ModelProto.create({ ...built, graph: onnx.GraphProto.create({ ...g, output: [output] }) })
  const used = new Set(g.node.flatMap((x) => x.input ?? []))
  const params = g.initializer
    // The adapter is meta-trained and stays fixed: not a trainable weight of the body.
    .filter((t) => t.dataType === DataType.FLOAT && used.has(t.name ?? '') && t.name !== weightName && t.name !== biasName && t.name !== adapterName)
    .map((t) => t.name ?? '')
  return {
    model: out,
    net: {
      model: out,
      inputName: model.inputName,
      inputChw: model.inputChw,
      logitsName,
      featuresName: features,
      featureDim: f,
      params: [...params, weightName, biasName],
      headParams: [weightName, biasName]
    }
  }
}

export const FEATURES_INPUT = 'features_in'
export const HEAD_WEIGHT = 'head.weight'
export const HEAD_BIAS = 'head.bias'

/**
 * The head alone as a few-shot Net, for head-only adaptation on cached embeddings: input
 * `features_in` [B, F, 1, 1] (an "image" of F channels, so the episode runner feeds it as it feeds
 * images: EpisodeBatch.imageShape = [F, 1, 1]), Flatten -> `features` [B, F], Gemm -> `logits` [B, N].
 */
export function featuresHeadNet(featureDim: number, init: HeadWeights): Net {
  const n = init.bias.length
  const base = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'metascope',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 15 })],
    graph: onnx.GraphProto.create({ name: 'head', node: [], input: [], output: [], initializer: [] })
  })
  const b = new GraphBuilder(base, '__ms_head')
  b.addInput(FEATURES_INPUT, DataType.FLOAT, ['batch', featureDim, 1, 1])
  b.node('Flatten', [FEATURES_INPUT], { axis: 1 }, ['features'])
  b.namedConstant(HEAD_WEIGHT, f32(init.weight, [n, featureDim]))
  b.namedConstant(HEAD_BIAS, f32(init.bias, [n]))
  b.node('Gemm', ['features', HEAD_WEIGHT, HEAD_BIAS], { transB: 1 }, ['logits'])
  b.setOutputs(['logits'])
  return {
    model: b.build(),
    inputName: FEATURES_INPUT,
    inputChw: [featureDim, 1, 1],
    logitsName: 'logits',
    featuresName: 'features',
    featureDim,
    params: [HEAD_WEIGHT, HEAD_BIAS],
    headParams: [HEAD_WEIGHT, HEAD_BIAS]
  }
}
