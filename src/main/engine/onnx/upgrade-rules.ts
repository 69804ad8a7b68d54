import { onnx } from 'onnx-proto'
import { encodeAttributes, type BuilderAttr } from './builder'
import type { AttrValue } from './ir'

/**
 * One small rule per ONNX op whose definition changed between opset 7 and opset 13 in a way that
 * matters to a graph (an attribute became an input, an axis means something else, an op was replaced).
 * Each rule rewrites one old node into nodes that compute the same at opset 13. The tests check every
 * rule against onnxruntime running the original node at its own opset.
 */

/**
 * For each default-domain op, the opsets in (7, 13] at which its definition changed (from onnx's
 * own schema history: onnx.defs.get_all_schemas_with_history(), onnx 1.12). An op not listed has not
 * changed since opset 7 and is kept as it is.
 */
export const CHANGED_SINCE_7: Readonly<Record<string, readonly number[]>> = {
  Abs: [13], Acosh: [9], Add: [13], ArgMax: [11, 12, 13], ArgMin: [11, 12, 13], Asinh: [9], Atanh: [9],
  AveragePool: [10, 11], BatchNormalization: [9], BitShift: [11], Cast: [9, 13], Ceil: [13], Celu: [12],
  Clip: [11, 12, 13], Compress: [9, 11], Concat: [11, 13], ConcatFromSequence: [11], Constant: [9, 11, 12, 13],
  ConstantOfShape: [9], Conv: [11], ConvInteger: [10], ConvTranspose: [11], Cosh: [9], CumSum: [11],
  DepthToSpace: [11, 13], DequantizeLinear: [10, 13], Det: [11], Div: [13], Dropout: [10, 12, 13],
  DynamicQuantizeLinear: [11], Einsum: [12], Equal: [11, 13], Erf: [9, 13], Exp: [13], Expand: [8, 13],
  EyeLike: [9], Flatten: [9, 11, 13], Floor: [13], Gather: [11, 13], GatherElements: [11, 13],
  GatherND: [11, 12, 13], Gemm: [9, 11, 13], Greater: [9, 13], GreaterOrEqual: [12], Hardmax: [11, 13],
  Identity: [13], If: [11, 13], IsInf: [10], IsNaN: [9, 13], LRN: [13], Less: [9, 13], LessOrEqual: [12],
  Log: [13], LogSoftmax: [11, 13], Loop: [11, 13], LpPool: [11], MatMul: [9, 13], MatMulInteger: [10],
  Max: [8, 12, 13], MaxPool: [8, 10, 11, 12], MaxUnpool: [9, 11], Mean: [8, 13], MeanVarianceNormalization: [9, 13],
  Min: [8, 12, 13], Mod: [10, 13], Mul: [13], Neg: [13], NegativeLogLikelihoodLoss: [12, 13],
  NonMaxSuppression: [10, 11], NonZero: [9, 13], OneHot: [9, 11], PRelu: [9], Pad: [11, 13], Pow: [12, 13],
  QLinearConv: [10], QLinearMatMul: [10], QuantizeLinear: [10, 13], Range: [11], Reciprocal: [13],
  ReduceL1: [11, 13], ReduceL2: [11, 13], ReduceLogSum: [11, 13], ReduceLogSumExp: [11, 13], ReduceMax: [11, 12, 13],
  ReduceMean: [11, 13], ReduceMin: [11, 12, 13], ReduceProd: [11, 13], ReduceSum: [11, 13], ReduceSumSquare: [11, 13],
  Relu: [13], Reshape: [13], Resize: [10, 11, 13], ReverseSequence: [10], RoiAlign: [10], Round: [11],
  Scan: [8, 9, 11], Scatter: [9, 11], ScatterElements: [11, 13], ScatterND: [11, 13], SequenceAt: [11],
  SequenceConstruct: [11], SequenceEmpty: [11], SequenceErase: [11], SequenceInsert: [11], SequenceLength: [11],
  Shape: [13], Shrink: [9], Sigmoid: [13], Sign: [9, 13], Sinh: [9], Size: [13], Slice: [10, 11, 13],
  Softmax: [11, 13], SoftmaxCrossEntropyLoss: [12, 13], SpaceToDepth: [13], Split: [11, 13], SplitToSequence: [11],
  Sqrt: [13], Squeeze: [11, 13], StringNormalizer: [10], Sub: [13], Sum: [8, 13], Tanh: [13], TfIdfVectorizer: [9],
  ThresholdedRelu: [10], Tile: [13], TopK: [10, 11], Transpose: [13], Unique: [11], Unsqueeze: [11, 13],
  Upsample: [9, 10], Where: [9]
}

/**
 * Ops whose changes between opset 7 and 13 keep every old graph valid and its results the same: new
 * element types, negative axes, new optional attributes, inputs or outputs whose defaults are the old
 * behaviour (MaxPool's ceil_mode and dilations, ArgMax's select_last_index, Gemm's optional C), or the
 * op first appearing. Checked op by op against the ONNX changelog.
 */
export const COMPATIBLE: ReadonlySet<string> = new Set([
  'Abs', 'Acosh', 'Add', 'ArgMax', 'ArgMin', 'Asinh', 'Atanh', 'AveragePool', 'BitShift', 'Cast', 'Ceil', 'Celu',
  'Clip', 'Compress', 'Concat', 'ConcatFromSequence', 'Constant', 'ConstantOfShape', 'Conv', 'ConvInteger',
  'ConvTranspose', 'Cosh', 'CumSum', 'DepthToSpace', 'DequantizeLinear', 'Det', 'Div', 'DynamicQuantizeLinear',
  'Einsum', 'Equal', 'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten', 'Floor', 'Gather', 'GatherElements', 'GatherND',
  'Gemm', 'Greater', 'GreaterOrEqual', 'Identity', 'IsInf', 'IsNaN', 'LRN', 'Less', 'LessOrEqual', 'Log', 'LpPool',
  'MatMul', 'MatMulInteger', 'Max', 'MaxPool', 'MaxUnpool', 'Mean', 'MeanVarianceNormalization', 'Min', 'Mod', 'Mul',
  'Neg', 'NegativeLogLikelihoodLoss', 'NonMaxSuppression', 'NonZero', 'OneHot', 'PRelu', 'Pad', 'Pow', 'QLinearConv',
  'QLinearMatMul', 'QuantizeLinear', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp',
  'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'Relu', 'Reshape', 'Resize',
  'ReverseSequence', 'RoiAlign', 'Round', 'ScatterElements', 'ScatterND', 'SequenceAt', 'SequenceConstruct',
  'SequenceEmpty', 'SequenceErase', 'SequenceInsert', 'SequenceLength', 'Shape', 'Shrink', 'Sigmoid', 'Sign', 'Sinh',
  'Size', 'Slice', 'SoftmaxCrossEntropyLoss', 'SpaceToDepth', 'SplitToSequence', 'Sqrt', 'StringNormalizer', 'Sub',
  'Sum', 'Tanh', 'TfIdfVectorizer', 'ThresholdedRelu', 'Tile', 'TopK', 'Transpose', 'Unique', 'Where'
])

/** What a rule may ask about the graph and add to it. */
export interface UpgradeContext {
  node: onnx.INodeProto
  /** The node's name (or a made-up one when the file has none), for new node names and messages. */
  name: string
  /** Decoded attributes. */
  attrs: Record<string, AttrValue>
  /** The model's original default-domain opset. */
  opset: number
  /** The rank of a tensor when known (value_info or a probe run). */
  rank(tensor: string): number | undefined
  /** The element type of a tensor (FLOAT when unknown). */
  elemType(tensor: string): number
  /** A new int64 initializer; returns its name. */
  int64(values: number[], dims?: number[]): string
  /** A new float32 initializer; returns its name. */
  float32(values: number[], dims?: number[]): string
  /** A new scalar initializer of the given element type. */
  scalar(value: number, elemType: number): string
  /** A fresh tensor name derived from the node's. */
  fresh(hint: string): string
  /** Stops the upgrade with a message naming the op, node and opset. */
  fail(why: string): never
}

/** A rule applies to nodes of models whose opset is below `before` (the opset the change took effect). */
export interface UpgradeRule {
  before: number
  upgrade(ctx: UpgradeContext): onnx.INodeProto[]
}

type Attrs = Record<string, BuilderAttr>

/** The node with some inputs, attributes or the op replaced; everything else (name, outputs) kept. */
function rewrite(ctx: UpgradeContext, change: { opType?: string; inputs?: string[]; outputs?: string[]; drop?: string[]; set?: Attrs }): onnx.INodeProto {
  const drop = new Set([...(change.drop ?? []), ...Object.keys(change.set ?? {})])
  const kept = (ctx.node.attribute ?? []).filter((a) => !drop.has(a.name ?? ''))
  return onnx.NodeProto.create({
    ...ctx.node,
    opType: change.opType ?? ctx.node.opType,
    input: change.inputs ?? ctx.node.input,
    output: change.outputs ?? ctx.node.output,
    attribute: [...kept, ...encodeAttributes(change.set ?? {})]
  })
}

const ints = (ctx: UpgradeContext, name: string): number[] | undefined => {
  const v = ctx.attrs[name]
  return Array.isArray(v) ? (v as number[]) : undefined
}
const num = (ctx: UpgradeContext, name: string): number | undefined => {
  const v = ctx.attrs[name]
  return typeof v === 'number' ? v : undefined
}
const str = (ctx: UpgradeContext, name: string, fallback: string): string => {
  const v = ctx.attrs[name]
  return typeof v === 'string' ? v : fallback
}

/** An `axes` (or similar) attribute that became an input: the attribute's ints as an int64 input. */
function attrToInput(name: string, before: number, slot: number): UpgradeRule {
  return {
    before,
    upgrade(ctx) {
      const values = ints(ctx, name)
      const inputs = [...(ctx.node.input ?? [])]
      if (values) {
        while (inputs.length < slot) inputs.push('')
        inputs[slot] = ctx.int64(values)
      }
      return [rewrite(ctx, { inputs, drop: [name] })]
    }
  }
}

/**
 * Softmax, LogSoftmax, Hardmax before 13: the input is coerced to 2-D [d0*..*d(axis-1), d(axis)*..]
 * and normalised over the second dimension, so over all axes from `axis` on. From 13 the op normalises
 * over the one axis. When `axis` is the last axis both agree; otherwise Flatten -> op -> Reshape back.
 */
const normaliseOverTail: UpgradeRule = {
  before: 13,
  upgrade(ctx) {
    const x = ctx.node.input![0]
    const rawAxis = num(ctx, 'axis') ?? 1
    // Softmax keeps its input's shape, so the output's declared rank (a graph output's, often) says it too.
    const rank = ctx.rank(x) ?? ctx.rank(ctx.node.output![0])
    if (rank !== undefined) {
      const a = rawAxis < 0 ? rawAxis + rank : rawAxis
      if (a === rank - 1) return [rewrite(ctx, { set: { axis: a } })]
    }
    const y = ctx.node.output![0]
    const flat = ctx.fresh('flat')
    const normed = ctx.fresh('normalised')
    const shape = ctx.fresh('shape')
    return [
      onnx.NodeProto.create({ name: `${ctx.name}/flatten`, opType: 'Flatten', input: [x], output: [flat], attribute: encodeAttributes({ axis: rawAxis }) }),
      rewrite(ctx, { inputs: [flat], outputs: [normed], set: { axis: 1 } }),
      onnx.NodeProto.create({ name: `${ctx.name}/shape`, opType: 'Shape', input: [x], output: [shape] }),
      onnx.NodeProto.create({ name: `${ctx.name}/reshape`, opType: 'Reshape', input: [normed, shape], output: [y] })
    ]
  }
}

/** Clip before 11: min and max attributes (absent = unbounded) become optional inputs. */
const clip: UpgradeRule = {
  before: 11,
  upgrade(ctx) {
    const x = ctx.node.input![0]
    const type = ctx.elemType(x)
    const lo = num(ctx, 'min')
    const hi = num(ctx, 'max')
    const inputs = [x, lo === undefined ? '' : ctx.scalar(lo, type), hi === undefined ? '' : ctx.scalar(hi, type)]
    while (inputs.length > 1 && inputs[inputs.length - 1] === '') inputs.pop()
    return [rewrite(ctx, { inputs, drop: ['min', 'max'] })]
  }
}

/** Pad before 11: pads and value attributes become the pads and constant_value inputs. */
const pad: UpgradeRule = {
  before: 11,
  upgrade(ctx) {
    const x = ctx.node.input![0]
    const pads = ints(ctx, 'pads') ?? ints(ctx, 'paddings')
    if (!pads) return ctx.fail('it has no pads attribute')
    const value = num(ctx, 'value') ?? 0
    const inputs = [x, ctx.int64(pads)]
    if (value !== 0 && str(ctx, 'mode', 'constant') === 'constant') inputs.push(ctx.scalar(value, ctx.elemType(x)))
    return [rewrite(ctx, { inputs, drop: ['pads', 'paddings', 'value'] })]
  }
}

/** Slice before 10: starts, ends and axes attributes become inputs. */
const slice: UpgradeRule = {
  before: 10,
  upgrade(ctx) {
    const starts = ints(ctx, 'starts')
    const ends = ints(ctx, 'ends')
    if (!starts || !ends) return ctx.fail('it has no starts/ends attributes')
    const axes = ints(ctx, 'axes')
    const inputs = [ctx.node.input![0], ctx.int64(starts), ctx.int64(ends), ...(axes ? [ctx.int64(axes)] : [])]
    return [rewrite(ctx, { inputs, drop: ['starts', 'ends', 'axes'] })]
  }
}

/**
 * Dropout (inference): the output is the input. A used mask output keeps a Dropout at opset 13 (all
 * true); so does an opset-12 Dropout with a training_mode input (same signature at 13; the VJP rule
 * refuses training mode with its own message).
 */
const dropout: UpgradeRule = {
  before: 13,
  upgrade(ctx) {
    if (ctx.opset >= 12 && (ctx.node.input ?? [])[2]) return [ctx.node]
    const outputs = (ctx.node.output ?? []).filter(Boolean)
    if (outputs.length > 1) return [rewrite(ctx, { inputs: [ctx.node.input![0]], drop: ['ratio', 'is_test', 'seed'] })]
    return [onnx.NodeProto.create({ name: ctx.node.name, opType: 'Identity', input: [ctx.node.input![0]], output: outputs })]
  }
}

/** BatchNormalization before 9: `spatial` (and opset-6 leftovers) is gone; spatial=0 has no opset-13 form. */
const batchNormalization: UpgradeRule = {
  before: 9,
  upgrade(ctx) {
    if (num(ctx, 'spatial') === 0) ctx.fail('spatial=0 (per-activation statistics) has no opset-13 equivalent')
    return [rewrite(ctx, { drop: ['spatial', 'is_test', 'consumed_inputs'] })]
  }
}

/** Nearest neighbour as opset < 11 computes it: x_in = floor(x_out / scale) (ceil when shrinking). */
function oldResizeAttrs(ctx: UpgradeContext, scales: number[] | undefined): Attrs {
  const mode = str(ctx, 'mode', 'nearest')
  if (mode === 'nearest') {
    const shrinks = scales?.some((s) => s < 1) ?? false
    return { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: shrinks ? 'ceil' : 'floor' }
  }
  if (mode === 'linear' || mode === 'bilinear') return { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }
  ctx.fail(`mode ${mode} is not supported (nearest and linear are)`)
}

/**
 * Upsample (scales as an attribute before 9, an input from 9) -> Resize(X, roi='', scales) with the
 * coordinate rule the old op used: asymmetric (x_in = x_out / scale).
 */
const upsample: UpgradeRule = {
  before: 13, // deprecated at 10: always rewritten
  upgrade(ctx) {
    const attrScales = (ctx.attrs.scales as number[] | undefined) ?? undefined
    const inputs = ctx.node.input ?? []
    const scalesName = inputs[1]
    if (attrScales) {
      const scales = ctx.float32(attrScales)
      return [rewrite(ctx, { opType: 'Resize', inputs: [inputs[0], '', scales], drop: ['scales', 'mode'], set: oldResizeAttrs(ctx, attrScales) })]
    }
    if (!scalesName) ctx.fail('it has neither a scales attribute nor a scales input')
    return [rewrite(ctx, { opType: 'Resize', inputs: [inputs[0], '', scalesName], drop: ['mode'], set: oldResizeAttrs(ctx, undefined) })]
  }
}

/** Resize-10 (X, scales), asymmetric coordinates -> Resize-13 (X, roi='', scales) saying so. */
const resize10: UpgradeRule = {
  before: 11,
  upgrade(ctx) {
    const inputs = ctx.node.input ?? []
    return [rewrite(ctx, { inputs: [inputs[0], '', inputs[1]], drop: ['mode'], set: oldResizeAttrs(ctx, undefined) })]
  }
}

/** TopK before 10: k attribute -> k input ([1] int64). */
const topK: UpgradeRule = {
  before: 10,
  upgrade(ctx) {
    const k = num(ctx, 'k')
    if (k === undefined) return ctx.fail('it has no k attribute')
    return [rewrite(ctx, { inputs: [ctx.node.input![0], ctx.int64([k])], drop: ['k'] })]
  }
}

/** Scatter (deprecated at 11) is ScatterElements under its old name. */
const scatter: UpgradeRule = { before: 13, upgrade: (ctx) => [rewrite(ctx, { opType: 'ScatterElements' })] }

/**
 * ImageScaler (experimental, dropped from the standard; older Caffe2/CNTK conversions start with it):
 * y = scale * x + bias[c] -> Mul and Add with bias shaped [1, C, 1, 1].
 */
const imageScaler: UpgradeRule = {
  before: 13,
  upgrade(ctx) {
    const x = ctx.node.input![0]
    const y = ctx.node.output![0]
    const scale = num(ctx, 'scale') ?? 1
    const bias = (ctx.attrs.bias as number[] | undefined) ?? []
    const scaled = bias.length ? ctx.fresh('scaled') : y
    const nodes: onnx.INodeProto[] = [
      onnx.NodeProto.create({ name: `${ctx.name}/scale`, opType: 'Mul', input: [x, ctx.float32([scale], [])], output: [scaled] })
    ]
    if (bias.length) nodes.push(onnx.NodeProto.create({ name: ctx.name, opType: 'Add', input: [scaled, ctx.float32(bias, [1, bias.length, 1, 1])], output: [y] }))
    return nodes
  }
}

/** Experimental ops dropped from the standard, with no opset-13 rule here. */
export const REMOVED_OPS: ReadonlySet<string> = new Set([
  'Affine', 'ConstantFill', 'Crop', 'DynamicSlice', 'GRUUnit', 'GivenTensorFill', 'ParametricSoftplus', 'Scale', 'ScaledTanh'
])

/** Ops with a rule; applied when the model's opset is below the rule's `before`. */
export const UPGRADE_RULES: Readonly<Record<string, UpgradeRule>> = {
  Softmax: normaliseOverTail,
  LogSoftmax: normaliseOverTail,
  Hardmax: normaliseOverTail,
  Squeeze: attrToInput('axes', 13, 1),
  Unsqueeze: attrToInput('axes', 13, 1),
  ReduceSum: attrToInput('axes', 13, 1),
  Split: attrToInput('split', 13, 1),
  Clip: clip,
  Pad: pad,
  Slice: slice,
  Dropout: dropout,
  BatchNormalization: batchNormalization,
  Upsample: upsample,
  Resize: resize10,
  TopK: topK,
  Scatter: scatter,
  ImageScaler: imageScaler
}
