import { ApiError } from '../../../../shared/errors'
import type { FeatureCandidate, FeatureChoice, FeatureKind } from '../../../../shared/fewshot-features'
import type { IrNode } from '../../onnx/ir'
import type { LoadedModel } from '../../model/loaded-model'
import type { ClassifierHead } from './head'

/** A feature tensor as adaptation uses it: a candidate, and whether it must be flattened to [batch, F]. */
export interface FeatureTensor extends FeatureCandidate {
  flatten: boolean
}

/** Ops that only reshape or pass values on: the tensor after them holds the same values as before. */
const SAME_VALUES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout'])
/** One-input ops found between the Dense layers of a classifier stack: activations and inference-mode BatchNorm. */
const STACK_OPS = new Set(['Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'Clip', 'Gelu', 'Mish', 'BatchNormalization'])
/** Arithmetic with a constant (a MatMul's bias Add, a rescaling): walked through to the other operand. */
const WITH_CONSTANT = new Set(['Add', 'Sub', 'Mul', 'Div'])
/** Poolings that end the backbone when they pool the spatial map down to one value per channel. */
const POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'AveragePool', 'MaxPool', 'ReduceMean', 'ReduceMax', 'ReduceL2'])

/** Values per image when `shape` is [B, F], [B, F, 1, 1] or [B, 1, ..., 1, F] (at most one non-1 axis after the batch); else null. */
function flatWidth(shape: number[]): number | null {
  if (shape.length < 2) return null
  const rest = shape.slice(1)
  return rest.filter((d) => d !== 1).length <= 1 ? rest.reduce((p, d) => p * d, 1) : null
}

/** A map with more than one value per channel: at least two axes after the batch larger than 1. */
function isSpatial(shape: number[] | undefined): boolean {
  return !!shape && shape.length >= 3 && shape.slice(1).filter((d) => d > 1).length >= 2
}

/** The batch size the model's shapes were probed at (LoadedModel.open probes a dynamic batch at 2). */
function probeBatch(model: LoadedModel): number {
  return model.dynamicBatch ? 2 : model.fixedBatch
}

/** A Dense layer of the stack: Gemm (no transA) or MatMul with a constant 2-D weight on a flat input. */
function isDense(model: LoadedModel, n: IrNode): boolean {
  if (n.opType !== 'Gemm' && n.opType !== 'MatMul') return false
  if (n.opType === 'Gemm' && n.attrs.transA) return false
  const w = model.index.constant(n.inputs[1])
  const x = model.shapes.get(n.inputs[0])
  return !!w && w.dims.length === 2 && !!x && x[0] === probeBatch(model) && flatWidth(x) !== null
}

/**
 * An op whose output holds its input's values in the same order: a reshape, or a Transpose of a
 * tensor with one value vector per image that keeps the batch first (tfjs converts Keras' Flatten
 * after a 1x1 pooling as Transpose to channels-last, then Flatten).
 */
function passesValues(model: LoadedModel, n: IrNode): boolean {
  if (SAME_VALUES.has(n.opType)) return true
  if (n.opType !== 'Transpose') return false
  const x = model.shapes.get(n.inputs[0])
  const perm = n.attrs.perm
  return !!x && flatWidth(x) !== null && Array.isArray(perm) && perm[0] === 0
}

/** The input a stack op passes on: its first input, or the non-constant operand of arithmetic with a constant. */
function stackInput(model: LoadedModel, n: IrNode): string | null {
  if (STACK_OPS.has(n.opType)) return n.inputs[0]
  if (WITH_CONSTANT.has(n.opType) && n.inputs.length === 2) {
    const constant = n.inputs.map((i) => model.index.isConstant(i))
    if (constant[0] !== constant[1]) return constant[0] ? n.inputs[1] : n.inputs[0]
  }
  return null
}

/** The layer a tensor comes out of, past ops that only reshape it (a Flatten of a spatial map is a layer itself). */
function followsOf(model: LoadedModel, tensor: string): { op: string; node: string } | null {
  let t = tensor
  for (let guard = 0; guard < 64; guard++) {
    const p = model.index.producer.get(t)
    if (!p) return null
    if (!passesValues(model, p) || isSpatial(model.shapes.get(p.inputs[0]))) return { op: p.opType, node: p.name }
    t = p.inputs[0]
  }
  return null
}

interface StackWalk {
  /** The Dense layers' inputs from the head back to the first Dense, each with the node it feeds. */
  denseInputs: { tensor: string; feeds: IrNode }[]
  /** Where the backbone ends: the global pooling (or the spatial Flatten) and the furthest tensor after it holding its values. */
  pooled: { kind: Extract<FeatureKind, 'pooled' | 'flattened'>; tensor: string } | null
}

/**
 * Walks back from the head through the classifier stack: Dense layers (Gemm/MatMul with constant
 * weights), their biases, activations, BatchNorm, Dropout and reshapes, to the global pooling or the
 * Flatten of the last spatial map. `same` tracks the tensor furthest from the backbone that still
 * holds the values of the one being looked at, so a pooling followed by Flatten and Dropout is named
 * by the tensor the first Dense reads.
 */
function walkStack(model: LoadedModel, head: ClassifierHead): StackWalk {
  const index = model.index
  const denseInputs = [{ tensor: head.node.inputs[0], feeds: head.node }]
  let t = head.node.inputs[0]
  let same = t
  for (let guard = 0; guard < 512; guard++) {
    const p = index.producer.get(t)
    if (!p) break
    if (isDense(model, p)) {
      t = same = p.inputs[0]
      denseInputs.push({ tensor: t, feeds: p })
      continue
    }
    if (passesValues(model, p)) {
      if (isSpatial(model.shapes.get(p.inputs[0]))) return { denseInputs, pooled: { kind: 'flattened', tensor: same } }
      t = p.inputs[0]
      continue
    }
    const out = model.shapes.get(p.outputs[0])
    if (POOLS.has(p.opType) && isSpatial(model.shapes.get(p.inputs[0])) && out && flatWidth(out) !== null) {
      return { denseInputs, pooled: { kind: 'pooled', tensor: same } }
    }
    const next = stackInput(model, p)
    if (!next) break
    t = same = next
  }
  return { denseInputs, pooled: null }
}

/**
 * The tensors adaptation can embed images with, from the backbone towards the head: the output of
 * the global pooling (or the Flatten of the last spatial map) that feeds the classifier's first
 * Dense layer, and the input of each Dense layer of the classifier stack down to the head's own.
 * Exactly one is `auto`: the pooled representation when the walk reaches one (for a model that is
 * pooling -> one Linear, that is the head's input), else the head's input.
 */
export function featureCandidates(model: LoadedModel, head: ClassifierHead): FeatureTensor[] {
  const { denseInputs, pooled } = walkStack(model, head)
  const byTensor = new Map<string, FeatureTensor>()
  const add = (tensor: string, kind: FeatureKind, feeds: string | null) => {
    const known = byTensor.get(tensor)
    if (known) {
      if (kind !== 'dense-input') known.kind = kind
      return
    }
    const shape = model.shapes.get(tensor)
    const width = shape ? flatWidth(shape) : null
    // Without the batch axis (a statistic over the whole batch) a tensor is no image's features.
    if (!shape || width === null || shape[0] !== probeBatch(model)) return
    byTensor.set(tensor, { tensor, width, kind, follows: followsOf(model, tensor), feeds, headInput: tensor === head.features, auto: false, flatten: shape.length !== 2 })
  }
  // Backbone first: the pooled tensor, then the Dense inputs from the first Dense to the head.
  if (pooled) add(pooled.tensor, pooled.kind, denseInputs.find((d) => d.tensor === pooled.tensor)?.feeds.name ?? null)
  for (const d of [...denseInputs].reverse()) add(d.tensor, 'dense-input', d.feeds.name)
  const list = [...byTensor.values()]
  const auto = (pooled && byTensor.get(pooled.tensor)) || list.find((c) => c.headInput) || list[list.length - 1]
  if (auto) auto.auto = true
  return list
}

/** "tensor (F, after Op node)" for messages. */
export function describeFeature(c: Pick<FeatureCandidate, 'tensor' | 'width' | 'follows'>): string {
  return `${c.tensor} (${c.width}${c.follows ? `, after ${c.follows.op} ${c.follows.node}` : ''})`
}

/**
 * The feature tensor an adaptation uses: the automatic candidate when `name` is omitted, else the
 * named tensor, which must exist, have the model input's batch axis and one value vector per image
 * ([B, F], [B, F, 1, 1] or [B, 1, ..., 1, F]). A tensor that is none of the candidates is allowed
 * (kind 'other'). Refusals are ApiErrors on the field 'features' naming the model and the candidates.
 */
export function resolveFeatures(model: LoadedModel, head: ClassifierHead, name?: string): FeatureTensor {
  const candidates = featureCandidates(model, head)
  const automatic = name === undefined || name === ''
  const known = automatic ? candidates.find((c) => c.auto) : candidates.find((c) => c.tensor === name)
  if (known) return known
  // The head's input is always a candidate unless it lacks the batch axis; then the model has no candidate, and it is refused here rather than embedded as if it were per image.
  if (automatic || name === head.features) {
    const shape = model.shapes.get(head.features) ?? []
    throw new ApiError(
      'invalid-arguments',
      `${model.file}: its last layer ${head.node.name} reads ${head.features}, of shape [${shape.join(', ')}] at a batch of ${probeBatch(model)}: it has no batch axis (one row for the whole batch, not one per image), so the model has no per-image features to adapt on.`,
      model.path,
      { field: 'features', constraint: 'head-no-batch-axis', value: head.features, model: model.file, shape }
    )
  }
  const refuse = (code: 'not-found' | 'invalid-arguments', constraint: string, why: string, extra: Record<string, unknown> = {}): never => {
    const list = candidates.map(describeFeature).join(', ')
    throw new ApiError(code, `${model.file}: the features tensor "${name}" ${why}. Its candidate feature tensors: ${list || 'none'}.`, model.path, {
      field: 'features',
      constraint,
      value: name,
      model: model.file,
      candidates: candidates.map((c) => c.tensor),
      ...extra
    })
  }
  const index = model.index
  const exists = index.producer.has(name) || index.inputNames.includes(name) || index.initializerNames.has(name)
  if (!exists) refuse('not-found', 'unknown', 'is not a tensor of the model')
  if (index.isConstant(name)) refuse('invalid-arguments', 'no-batch-axis', 'is a constant (a weight), not computed per image: it has no batch axis')
  const shape = model.shapes.get(name)
  if (!shape) refuse('invalid-arguments', 'unknown-shape', 'has no known shape (onnxruntime did not report it when the model was probed)')
  const batch = probeBatch(model)
  const shown = `[${shape!.join(', ')}] at a batch of ${batch}`
  if (shape!.length === 0 || shape![0] !== batch) refuse('invalid-arguments', 'no-batch-axis', `has shape ${shown}: it has no batch axis matching the model input's`, { shape })
  const width = flatWidth(shape!)
  if (width === null) refuse('invalid-arguments', 'not-flat', `has shape ${shown}: not one feature vector per image ([batch, F], [batch, F, 1, 1] or [batch, 1, ..., 1, F]); a spatial map needs pooling first`, { shape })
  return { tensor: name, width: width!, kind: 'other', follows: followsOf(model, name), feeds: null, headInput: name === head.features, auto: false, flatten: shape!.length !== 2 }
}

/** What a report and the adapted model's metadata record of the features. */
export function featureChoice(f: FeatureTensor): FeatureChoice {
  return { tensor: f.tensor, width: f.width, kind: f.kind, follows: f.follows, headInput: f.headInput, auto: f.auto }
}
