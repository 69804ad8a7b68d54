import { basename } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import type { BuilderAttr } from '../onnx/builder'
import type { Weight } from './tfjs-files'
import { convOut, depthwiseToOihw, hwioToOihw, samePads, type OnnxWriter } from './tfjs-onnx'

/** A GraphModel node as model.json holds it (TF NodeDef in proto3 JSON). */
export interface TfNode {
  name: string
  op: string
  input?: string[]
  attr?: Record<string, unknown>
}

/**
 * A TF tensor during conversion. `shape` is TF's (NHWC for 4-D, null = unknown); `layout` says how
 * the ONNX tensor `name` holds a 4-D tensor. A Const is not written until an op needs it as a tensor
 * (most are read at conversion time: filters, axes, paddings, shapes).
 */
export interface TfValue {
  name: string
  rank: number
  layout: 'tf' | 'nchw'
  shape: (number | null)[]
  isConst?: boolean
  weight?: Weight
  /** Memoised layout conversions, so a tensor is transposed at most once each way. */
  nchw?: string
  tf?: string
}

export interface GraphCtx {
  w: OnnxWriter
  weights: Map<string, Weight>
  modelPath: string
  values: Map<string, TfValue[]>
  byName: Map<string, TfNode>
}

export type GraphRule = (ctx: GraphCtx, node: TfNode, inputs: TfValue[]) => TfValue[]

function fail(ctx: GraphCtx, node: TfNode, what: string): ApiError {
  return new ApiError('unsupported', `${basename(ctx.modelPath)}: node ${node.name} (${node.op}): ${what}.`, ctx.modelPath, {
    ...fileDetails('model', ctx.modelPath, 'unsupported-op-setting'),
    node: node.name,
    op: node.op,
    what
  })
}

// ---- attributes (proto3 JSON: int64 as strings, strings base64) ----

type Attr = { s?: string; i?: string | number; f?: number; b?: boolean; list?: { i?: (string | number)[]; s?: string[]; f?: number[] } }
const attrOf = (node: TfNode, key: string) => node.attr?.[key] as Attr | undefined
const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')
const attrS = (node: TfNode, key: string, def = '') => {
  const s = attrOf(node, key)?.s
  return s === undefined ? def : b64(s)
}
const attrInts = (node: TfNode, key: string, def: number[] = []) => attrOf(node, key)?.list?.i?.map(Number) ?? def
const attrStrs = (node: TfNode, key: string) => attrOf(node, key)?.list?.s?.map(b64) ?? []
const attrF = (node: TfNode, key: string, def: number) => {
  const a = attrOf(node, key)
  return a?.f !== undefined ? Number(a.f) : a?.i !== undefined ? Number(a.i) : def
}
const attrB = (node: TfNode, key: string) => attrOf(node, key)?.b === true

// ---- layouts ----

const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1]

/** Writes a Const as an initializer (float32), optionally transposed NHWC -> NCHW. */
function materialize(ctx: GraphCtx, v: TfValue, nchw: boolean): string {
  const data = Float32Array.from(v.weight!.data)
  if (!nchw) return ctx.w.weight(v.name, data, v.weight!.shape)
  // Left-pad to rank 4 with ones (TF broadcasting aligns trailing axes), then permute to NCHW.
  const s = [...new Array(4 - v.weight!.shape.length).fill(1), ...v.weight!.shape] as number[]
  const [n, h, wd, c] = s
  const out = new Float32Array(data.length)
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < wd; x++) for (let k = 0; k < c; k++) out[((i * c + k) * h + y) * wd + x] = data[((i * h + y) * wd + x) * c + k]
  return ctx.w.weight(`${v.name}/nchw`, out, [n, c, h, wd])
}

/** The tensor in NCHW (4-D only). */
function asNchw(ctx: GraphCtx, v: TfValue): string {
  if (v.layout === 'nchw') return v.name
  if (v.nchw) return v.nchw
  v.nchw = v.isConst ? materialize(ctx, v, true) : ctx.w.op('Transpose', [v.name], { perm: [0, 3, 1, 2] }, `${v.name}/nchw`)
  return v.nchw
}

/** The tensor in TF's own layout. */
function asTf(ctx: GraphCtx, v: TfValue): string {
  if (v.layout === 'tf' && !v.isConst) return v.name
  if (v.tf) return v.tf
  v.tf = v.isConst ? materialize(ctx, v, false) : ctx.w.op('Transpose', [v.name], { perm: [0, 2, 3, 1] }, `${v.name}/nhwc`)
  return v.tf
}

function constOf(ctx: GraphCtx, node: TfNode, v: TfValue | undefined, what: string): Weight {
  if (!v?.isConst || !v.weight) throw fail(ctx, node, `its ${what} must be a constant`)
  return v.weight
}

const ints = (w: Weight) => Array.from(w.data, Number)

const nchwOut = (name: string, shape: (number | null)[]): TfValue => ({ name, rank: 4, layout: 'nchw', shape })
const tfOut = (name: string, shape: (number | null)[]): TfValue => ({ name, rank: shape.length, layout: 'tf', shape })

// ---- activations (standalone and fused) ----

type Act = (ctx: GraphCtx, x: string, out: string, node: TfNode, alpha?: TfValue, rank?: number) => string
const ACTIVATIONS: Record<string, Act> = {
  Relu: (c, x, out) => c.w.op('Relu', [x], {}, out),
  Relu6: (c, x, out) => c.w.op('Clip', [x, c.w.weight(`${out}/min`, [0], []), c.w.weight(`${out}/max`, [6], [])], {}, out),
  Elu: (c, x, out) => c.w.op('Elu', [x], {}, out),
  Selu: (c, x, out) => c.w.op('Selu', [x], {}, out),
  Sigmoid: (c, x, out) => c.w.op('Sigmoid', [x], {}, out),
  Tanh: (c, x, out) => c.w.op('Tanh', [x], {}, out),
  Softplus: (c, x, out) => c.w.op('Softplus', [x], {}, out),
  Exp: (c, x, out) => c.w.op('Exp', [x], {}, out),
  Neg: (c, x, out) => c.w.op('Neg', [x], {}, out),
  Sqrt: (c, x, out) => c.w.op('Sqrt', [x], {}, out),
  Square: (c, x, out) => c.w.op('Mul', [x, x], {}, out),
  Rsqrt: (c, x, out) => c.w.op('Reciprocal', [c.w.op('Sqrt', [x], {}, `${out}/sqrt`)], {}, out),
  LeakyRelu: (c, x, out, node) => c.w.op('LeakyRelu', [x], { alpha: { __float: attrF(node, node.op === 'LeakyRelu' ? 'alpha' : 'leakyrelu_alpha', 0.2) } }, out),
  Prelu: (c, x, out, node, alpha, rank) => {
    const a = constOf(c, node, alpha, 'PReLU alpha')
    // alpha is per channel ([C] or [1, 1, C]); on an NCHW tensor it must broadcast as [C, 1, 1].
    const channels = a.shape.at(-1) ?? 1
    const slope = rank === 4 && a.data.length === channels ? c.w.weight(`${out}/alpha`, Float32Array.from(a.data), [channels, 1, 1]) : c.w.weight(`${out}/alpha`, Float32Array.from(a.data), a.shape)
    return c.w.op('PRelu', [x, slope], {}, out)
  }
}

/** Applies the activation a fused op names (after BiasAdd / FusedBatchNorm) and names the result `out`. */
function fusedActivation(ctx: GraphCtx, node: TfNode, x: string, act: string | undefined, out: string, rank: number, alpha?: TfValue): string {
  if (!act) return x
  const fn = ACTIVATIONS[act]
  if (!fn) throw fail(ctx, node, `the fused activation ${act} is not supported`)
  return fn(ctx, x, out, node, alpha, rank)
}

function unary(op: string): GraphRule {
  return (ctx, node, [x]) => {
    const fn = ACTIVATIONS[op]
    const name = fn(ctx, x.layout === 'nchw' ? x.name : asTf(ctx, x), node.name, node, undefined, x.rank)
    return [{ name, rank: x.rank, layout: x.layout === 'nchw' ? 'nchw' : 'tf', shape: x.shape }]
  }
}

const prelu: GraphRule = (ctx, node, [x, alpha]) => {
  const name = ACTIVATIONS.Prelu(ctx, x.layout === 'nchw' ? x.name : asTf(ctx, x), node.name, node, alpha, x.layout === 'nchw' ? 4 : x.rank)
  return [{ ...x, name, nchw: undefined, tf: undefined }]
}

// ---- convolutions ----

function convPads(ctx: GraphCtx, node: TfNode, x: TfValue, k: [number, number], s: number[], d: number[]): Record<string, BuilderAttr> & { outHW: [number | null, number | null] } {
  const padding = attrS(node, 'padding', 'VALID')
  const [, h, wd] = x.shape
  const attrs: Record<string, BuilderAttr> = {}
  let outHW: [number | null, number | null]
  if (padding === 'SAME') {
    if (h === null || wd === null) attrs.auto_pad = 'SAME_UPPER'
    else {
      const [t, b] = samePads(h, k[0], s[1], d[1])
      const [l, r] = samePads(wd, k[1], s[2], d[2])
      attrs.pads = [t, l, b, r]
    }
    outHW = [h === null ? null : convOut(h, k[0], s[1], 'same', d[1]), wd === null ? null : convOut(wd, k[1], s[2], 'same', d[2])]
  } else if (padding === 'VALID') {
    outHW = [h === null ? null : convOut(h, k[0], s[1], 'valid', d[1]), wd === null ? null : convOut(wd, k[1], s[2], 'valid', d[2])]
  } else if (padding === 'EXPLICIT') {
    const e = attrInts(node, 'explicit_paddings')
    const [t, b, l, r] = [e[2], e[3], e[4], e[5]]
    attrs.pads = [t, l, b, r]
    outHW = [h === null ? null : convOut(h + t + b, k[0], s[1], 'valid', d[1]), wd === null ? null : convOut(wd + l + r, k[1], s[2], 'valid', d[2])]
  } else throw fail(ctx, node, `padding ${padding} is not supported`)
  return Object.assign(attrs, { outHW })
}

/** Conv2D / DepthwiseConv2dNative, plain or fused (tfjs-converter's _FusedConv2D, FusedDepthwiseConv2dNative). */
function conv(depthwise: boolean, fused: boolean): GraphRule {
  return (ctx, node, [x, filter, ...args]) => {
    if (attrS(node, 'data_format', 'NHWC') !== 'NHWC') throw fail(ctx, node, `data_format ${attrS(node, 'data_format')} is not supported (only NHWC)`)
    if (x.rank !== 4) throw fail(ctx, node, `an input of rank ${x.rank}`)
    const f = constOf(ctx, node, filter, 'filter')
    const [kh, kw, ci, co] = f.shape
    const s = attrInts(node, 'strides', [1, 1, 1, 1])
    const d = attrInts(node, 'dilations', [1, 1, 1, 1])
    const { outHW, ...pads } = convPads(ctx, node, x, [kh, kw], s, d)
    const xc = x.shape[3]
    const group = depthwise ? ci : xc !== null && xc !== ci ? xc / ci : 1
    const outC = depthwise ? ci * co : co
    const w = ctx.w.weight(`${node.name}/filter`, depthwise ? depthwiseToOihw(f.data, f.shape) : hwioToOihw(f.data, f.shape), depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw])
    const ops = fused ? attrStrs(node, 'fused_ops') : []
    const inputs = [asNchw(ctx, x), w]
    let argi = 0
    let bn: string[] | null = null
    if (ops[0] === 'BiasAdd') inputs.push(ctx.w.weight(`${node.name}/bias`, constOf(ctx, node, args[argi++], 'bias').data, [outC]))
    else if (ops[0] === 'FusedBatchNorm') {
      bn = ['scale', 'offset', 'mean', 'variance'].map((k) => ctx.w.weight(`${node.name}/${k}`, constOf(ctx, node, args[argi++], k).data, [outC]))
    } else if (ops.length) throw fail(ctx, node, `fused op ${ops[0]} is not supported`)
    const act = ops[1]
    if (ops.length > 2) throw fail(ctx, node, `fused ops ${ops.join(', ')} are not supported`)
    const attrs = { ...pads, kernel_shape: [kh, kw], strides: [s[1], s[2]], dilations: [d[1], d[2]], group }
    let y = ctx.w.op('Conv', inputs, attrs, act || bn ? `${node.name}/${bn ? 'Conv2D' : 'BiasAdd'}` : node.name)
    if (bn) y = ctx.w.op('BatchNormalization', [y, ...bn], { epsilon: { __float: attrF(node, 'epsilon', 1e-4) } }, act ? `${node.name}/FusedBatchNorm` : node.name)
    y = fusedActivation(ctx, node, y, act, node.name, 4, act === 'Prelu' ? args[argi] : undefined)
    return [nchwOut(y, [x.shape[0], ...outHW, outC])]
  }
}

function matmul(fused: boolean): GraphRule {
  return (ctx, node, [a, b, ...args]) => {
    if (a.rank !== 2) throw fail(ctx, node, `a first input of rank ${a.rank}`)
    const wgt = constOf(ctx, node, b, 'weight matrix')
    const transB = attrB(node, 'transpose_b') ? 1 : 0
    const transA = attrB(node, 'transpose_a') ? 1 : 0
    const fo = transB ? wgt.shape[0] : wgt.shape[1]
    const ops = fused ? attrStrs(node, 'fused_ops') : []
    const act = ops[1]
    const ins = [asTf(ctx, a), ctx.w.weight(`${node.name}/weights`, Float32Array.from(wgt.data), wgt.shape)]
    if (ops[0] === 'BiasAdd') ins.push(ctx.w.weight(`${node.name}/bias`, Float32Array.from(constOf(ctx, node, args[0], 'bias').data), [fo]))
    else if (ops.length) throw fail(ctx, node, `fused op ${ops[0]} is not supported`)
    // Gemm, as a Keras Dense converts: the few-shot head finder looks for one linear node.
    const y = ctx.w.op('Gemm', ins, { transA, transB }, act ? `${node.name}/BiasAdd` : node.name)
    const out = fusedActivation(ctx, node, y, act, node.name, 2, act === 'Prelu' ? args[1] : undefined)
    return [tfOut(out, [a.shape[transA ? 1 : 0], fo])]
  }
}

const batchNorm: GraphRule = (ctx, node, [x, scale, offset, mean, variance]) => {
  if (x.rank !== 4 || attrS(node, 'data_format', 'NHWC') !== 'NHWC') throw fail(ctx, node, 'only NHWC 4-D inputs are supported')
  const c = constOf(ctx, node, scale, 'scale').data.length
  const ins = [asNchw(ctx, x), ...[scale, offset, mean, variance].map((v, i) => ctx.w.weight(`${node.name}/${['scale', 'offset', 'mean', 'variance'][i]}`, constOf(ctx, node, v, 'statistics').data, [c]))]
  return [nchwOut(ctx.w.op('BatchNormalization', ins, { epsilon: { __float: attrF(node, 'epsilon', 1e-4) } }, node.name), x.shape)]
}

function pool(op: 'MaxPool' | 'AveragePool'): GraphRule {
  return (ctx, node, [x]) => {
    if (x.rank !== 4 || attrS(node, 'data_format', 'NHWC') !== 'NHWC') throw fail(ctx, node, 'only NHWC 4-D inputs are supported')
    const k = attrInts(node, 'ksize', [1, 1, 1, 1])
    const s = attrInts(node, 'strides', [1, 1, 1, 1])
    // count_include_pad stays 0: TF's AvgPool averages real pixels only at 'SAME' borders.
    const { outHW, ...pads } = convPads(ctx, node, x, [k[1], k[2]], s, [1, 1, 1, 1])
    return [nchwOut(ctx.w.op(op, [asNchw(ctx, x)], { ...pads, kernel_shape: [k[1], k[2]], strides: [s[1], s[2]] }, node.name), [x.shape[0], ...outHW, x.shape[3]])]
  }
}

// ---- element-wise binaries with broadcasting across layouts ----

function binary(op: string): GraphRule {
  return (ctx, node, [a, b]) => {
    if (a.isConst && b.isConst) throw fail(ctx, node, 'both inputs are constants (constant folding is not supported)')
    const rank = Math.max(a.rank, b.rank)
    const rankOf = (v: TfValue) => v.weight?.shape.length ?? v.rank
    const shape = broadcastShape(a, b)
    // Keep NCHW when one side is an NCHW activation and the other is 4-D or a constant.
    const nchw = rank === 4 && [a, b].some((v) => !v.isConst && v.layout === 'nchw') && [a, b].every((v) => v.isConst || v.rank === 4)
    if (nchw) {
      // A constant broadcasts from the trailing (channel) axis in TF: [C] becomes [1, C, 1, 1].
      const ins = [a, b].map((v) => (v.isConst && rankOf(v) === 0 ? asTf(ctx, v) : asNchw(ctx, v)))
      return [nchwOut(ctx.w.op(op, ins, {}, node.name), shape)]
    }
    return [tfOut(ctx.w.op(op, [asTf(ctx, a), asTf(ctx, b)], {}, node.name), shape)]
  }
}

function broadcastShape(a: TfValue, b: TfValue): (number | null)[] {
  const sa = a.weight?.shape ?? a.shape
  const sb = b.weight?.shape ?? b.shape
  const r = Math.max(sa.length, sb.length)
  const pad = (s: (number | null)[]) => [...new Array(r - s.length).fill(1), ...s]
  const [pa, pb] = [pad(sa), pad(sb)]
  return pa.map((d, i) => (d === 1 ? pb[i] : pb[i] === 1 ? d : (d ?? pb[i])))
}

const biasAdd: GraphRule = (ctx, node, [x, bias]) => {
  const c = constOf(ctx, node, bias, 'bias')
  if (x.layout === 'nchw') return [nchwOut(ctx.w.op('Add', [x.name, ctx.w.weight(`${node.name}/bias`, Float32Array.from(c.data), [c.data.length, 1, 1])], {}, node.name), x.shape)]
  return [tfOut(ctx.w.op('Add', [asTf(ctx, x), ctx.w.weight(`${node.name}/bias`, Float32Array.from(c.data), [c.data.length])], {}, node.name), x.shape)]
}

// ---- shape ops ----

function reduce(kind: 'Mean' | 'Max'): GraphRule {
  return (ctx, node, [x, axesV]) => {
    const axes = ints(constOf(ctx, node, axesV, 'axes')).map((a) => (a < 0 ? a + x.rank : a)).sort()
    const keep = attrB(node, 'keep_dims') || attrB(node, 'keepdims')
    if (x.rank === 4 && axes.join() === '1,2') {
      // Global pooling over H and W: the form the CAM layer finder recognises.
      const op = kind === 'Mean' ? 'GlobalAveragePool' : 'GlobalMaxPool'
      const [n, , , c] = x.shape
      if (keep) return [nchwOut(ctx.w.op(op, [asNchw(ctx, x)], {}, node.name), [n, 1, 1, c])]
      const pooled = ctx.w.op(op, [asNchw(ctx, x)], {}, `${node.name}/pool`)
      return [tfOut(ctx.w.op('Flatten', [pooled], { axis: 1 }, node.name), [n, c])]
    }
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i))
    return [tfOut(ctx.w.op(kind === 'Mean' ? 'ReduceMean' : 'ReduceMax', [asTf(ctx, x)], { axes, keepdims: keep ? 1 : 0 }, node.name), shape)]
  }
}

const squeeze: GraphRule = (ctx, node, [x]) => {
  let axes = attrInts(node, 'squeeze_dims', attrInts(node, 'axis')).map((a) => (a < 0 ? a + x.rank : a))
  if (!axes.length) axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
  const shape = x.shape.filter((_, i) => !axes.includes(i))
  // Squeezing both H and W of an NCHW tensor leaves [N, C], TF's order: squeeze it where it is.
  if (x.layout === 'nchw' && axes.includes(1) && axes.includes(2) && !axes.includes(3)) {
    const mapped = axes.map((a) => NHWC_TO_NCHW_AXIS[a]).sort()
    return [tfOut(ctx.w.op('Squeeze', [x.name, ctx.w.ints(`${node.name}/axes`, mapped)], {}, node.name), shape)]
  }
  return [tfOut(ctx.w.op('Squeeze', [asTf(ctx, x), ctx.w.ints(`${node.name}/axes`, axes)], {}, node.name), shape)]
}

const reshape: GraphRule = (ctx, node, [x, shapeV]) => {
  const target = ints(constOf(ctx, node, shapeV, 'shape'))
  const known = x.shape.every((d) => d !== null)
  const total = known ? x.shape.reduce<number>((p, d) => p * (d as number), 1) : null
  const fixed = target.filter((d) => d !== -1).reduce((p, d) => p * d, 1)
  const shape = target.map((d) => (d === -1 ? (total !== null && fixed > 0 ? total / fixed : null) : d))
  // Reshape reads elements in TF's (NHWC) order.
  return [tfOut(ctx.w.op('Reshape', [asTf(ctx, x), ctx.w.ints(`${node.name}/shape`, target)], {}, node.name), shape)]
}

const concat: GraphRule = (ctx, node, inputs) => {
  const axisV = node.op === 'Concat' ? inputs[0] : inputs.at(-1)
  const xs = node.op === 'Concat' ? inputs.slice(1) : inputs.slice(0, -1)
  const rank = xs[0].rank
  const axis = ints(constOf(ctx, node, axisV, 'axis'))[0]
  const a = axis < 0 ? axis + rank : axis
  const shape = [...xs[0].shape]
  shape[a] = xs.some((x) => x.shape[a] === null) ? null : xs.reduce((s, x) => s + (x.shape[a] as number), 0)
  if (rank === 4 && xs.some((x) => x.layout === 'nchw')) {
    return [nchwOut(ctx.w.op('Concat', xs.map((x) => asNchw(ctx, x)), { axis: NHWC_TO_NCHW_AXIS[a] }, node.name), shape)]
  }
  return [tfOut(ctx.w.op('Concat', xs.map((x) => asTf(ctx, x)), { axis: a }, node.name), shape)]
}

const pad: GraphRule = (ctx, node, [x, paddingsV, constV]) => {
  const p = ints(constOf(ctx, node, paddingsV, 'paddings'))
  const mode = node.op === 'MirrorPad' ? attrS(node, 'mode').toLowerCase() : 'constant'
  if (mode !== 'constant' && mode !== 'reflect') throw fail(ctx, node, `mode ${mode.toUpperCase()} is not supported`)
  const value = constV ? Number(constOf(ctx, node, constV, 'constant value').data[0]) : 0
  const extra = constV ? [ctx.w.weight(`${node.name}/value`, [value], [])] : []
  const r = x.rank
  const before = Array.from({ length: r }, (_, i) => p[2 * i])
  const after = Array.from({ length: r }, (_, i) => p[2 * i + 1])
  const shape = x.shape.map((d, i) => (d === null ? null : d + before[i] + after[i]))
  if (r === 4) {
    const perm = [0, 3, 1, 2]
    const pads = ctx.w.ints(`${node.name}/pads`, [...perm.map((i) => before[i]), ...perm.map((i) => after[i])])
    return [nchwOut(ctx.w.op('Pad', [asNchw(ctx, x), pads, ...extra], { mode }, node.name), shape)]
  }
  return [tfOut(ctx.w.op('Pad', [asTf(ctx, x), ctx.w.ints(`${node.name}/pads`, [...before, ...after]), ...extra], { mode }, node.name), shape)]
}

function softmax(op: 'Softmax' | 'LogSoftmax'): GraphRule {
  return (ctx, node, [x]) => {
    // TF normalises over the last axis: the channel axis, axis 1 of an NCHW tensor.
    if (x.layout === 'nchw') return [nchwOut(ctx.w.op(op, [x.name], { axis: 1 }, node.name), x.shape)]
    return [tfOut(ctx.w.op(op, [asTf(ctx, x)], { axis: -1 }, node.name), x.shape)]
  }
}

const identity: GraphRule = (ctx, node, [x]) => {
  if (x.isConst) return [{ ...x, name: node.name, weight: x.weight, isConst: true, nchw: undefined, tf: undefined }]
  return [{ ...x, name: ctx.w.op('Identity', [x.name], {}, node.name), nchw: undefined, tf: undefined }]
}

const constant: GraphRule = (ctx, node) => {
  const w = ctx.weights.get(node.name)
  if (!w) throw new ApiError('bad-file', `${basename(ctx.modelPath)}: constant ${node.name} has no values in the weightsManifest.`, ctx.modelPath, { node: node.name })
  return [{ name: node.name, rank: w.shape.length, layout: 'tf', shape: w.shape, isConst: true, weight: w }]
}

const addN: GraphRule = (ctx, node, xs) => {
  // Summed pairwise: the same ops a plain AddV2 chain gives, so one binary rule handles the layouts.
  let acc = xs[0]
  for (let i = 1; i < xs.length; i++) acc = binary('Add')(ctx, { ...node, name: i === xs.length - 1 ? node.name : `${node.name}/add_${i}` }, [acc, xs[i]])[0]
  return [acc]
}

/** ResizeBilinear / ResizeNearestNeighbor with TF's align_corners / half_pixel_centers as ONNX transforms. */
function resize(linear: boolean): GraphRule {
  return (ctx, node, [x, sizeV]) => {
    const [oh, ow] = ints(constOf(ctx, node, sizeV, 'size'))
    const [n, h, wd, c] = x.shape
    if (x.rank !== 4 || h === null || wd === null) throw fail(ctx, node, 'an input without a static 4-D shape')
    const align = attrB(node, 'align_corners')
    const half = attrB(node, 'half_pixel_centers')
    const attrs: Record<string, BuilderAttr> = linear
      ? { mode: 'linear', coordinate_transformation_mode: align ? 'align_corners' : half ? 'half_pixel' : 'asymmetric' }
      : {
          mode: 'nearest',
          coordinate_transformation_mode: align ? 'align_corners' : half ? 'tf_half_pixel_for_nn' : 'asymmetric',
          nearest_mode: align ? 'round_prefer_ceil' : 'floor'
        }
    const scales = ctx.w.weight(`${node.name}/scales`, [1, 1, oh / h, ow / wd], [4])
    return [nchwOut(ctx.w.op('Resize', [asNchw(ctx, x), '', scales], attrs, node.name), [n, oh, ow, c])]
  }
}

const cast: GraphRule = (ctx, node, [x]) => {
  const to = (attrOf(node, 'DstT') as { type?: string } | undefined)?.type
  if (to !== 'DT_FLOAT') throw fail(ctx, node, `casting to ${to ?? '?'} is not supported (only DT_FLOAT)`)
  if (x.isConst) return [{ ...x, name: node.name, nchw: undefined, tf: undefined }]
  return [{ ...x, name: ctx.w.op('Cast', [x.name], { to: 1 }, node.name), nchw: undefined, tf: undefined }]
}

/** TF op -> converter. Unknown ops are an error naming the op and the node. */
export const GRAPH_RULES: Record<string, GraphRule> = {
  Const: constant,
  Identity: identity,
  StopGradient: identity,
  Snapshot: identity,
  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  DepthwiseConv2d: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  MatMul: matmul(false),
  _FusedMatMul: matmul(true),
  BiasAdd: biasAdd,
  FusedBatchNorm: batchNorm,
  FusedBatchNormV2: batchNorm,
  FusedBatchNormV3: batchNorm,
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Mean: reduce('Mean'),
  Max: reduce('Max'),
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  AddN: addN,
  ResizeBilinear: resize(true),
  ResizeNearestNeighbor: resize(false),
  Cast: cast,
  Relu: unary('Relu'),
  Relu6: unary('Relu6'),
  Elu: unary('Elu'),
  Selu: unary('Selu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Exp: unary('Exp'),
  Neg: unary('Neg'),
  Sqrt: unary('Sqrt'),
  Rsqrt: unary('Rsqrt'),
  Square: unary('Square'),
  LeakyRelu: unary('LeakyRelu'),
  Prelu: prelu,
  Softmax: softmax('Softmax'),
  LogSoftmax: softmax('LogSoftmax'),
  Squeeze: squeeze,
  Reshape: reshape,
  ConcatV2: concat,
  Concat: concat,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad
}
