import { basename } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import type { BuilderAttr } from '../onnx/builder'
import type { Weight } from './tfjs-files'
import { normalizationAffine, rescalingAffine, type ChannelAffine } from './tfjs-scaling-params'
import { convOut, depthwiseToOihw, hwcToChw, hwioToOihw, samePads, type OnnxWriter } from './tfjs-onnx'

/**
 * A Keras tensor during conversion. `shape` is the Keras shape (batch first, channels last, null for
 * unknown); in the ONNX graph a 4-D tensor is held NCHW (so conv activations are NCHW, as the CAM code
 * and the VJP rules expect), every other rank as Keras has it.
 */
export interface KTensor {
  name: string
  shape: (number | null)[]
}

/** One layer as the topology JSON gives it. */
export interface LayerJson {
  class_name: string
  name?: string
  config: Record<string, unknown> & { name?: string }
  inbound_nodes?: unknown[]
}

export interface LayerCtx {
  w: OnnxWriter
  weights: Map<string, Weight>
  modelPath: string
}

/** What a rule sees: the layer's name, config and (lazily) its weights. */
export interface LayerArgs {
  ctx: LayerCtx
  name: string
  cls: string
  cfg: Record<string, unknown>
  /** The names of the models this layer is nested in, outermost first. */
  path: string[]
  weight(key: string, optional?: boolean): Weight | null
}

export type LayerRule = (a: LayerArgs, inputs: KTensor[]) => KTensor

const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1]

/** A Keras axis (channels-last) as an axis of the ONNX tensor (NCHW when 4-D). */
export function onnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis
  return rank === 4 ? NHWC_TO_NCHW_AXIS[a] : a
}

function unsupported(a: LayerArgs, what: string): ApiError {
  return new ApiError('unsupported', `Layer ${a.name} (${a.cls}) in ${basename(a.ctx.modelPath)}: ${what} is not supported.`, a.ctx.modelPath, {
    ...fileDetails('model', a.ctx.modelPath, 'unsupported-layer-setting'),
    layer: a.name,
    className: a.cls,
    what
  })
}

const pair = (v: unknown, def: number): [number, number] =>
  Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : typeof v === 'number' ? [v, v] : [def, def]

function only4d(a: LayerArgs, x: KTensor): void {
  if (x.shape.length !== 4) throw unsupported(a, `an input of rank ${x.shape.length} (expected [N, H, W, C])`)
  if (a.cfg.data_format === 'channels_first') throw unsupported(a, 'data_format channels_first')
}

/** The weight's values as float32 (null when optional and absent). */
function values(a: LayerArgs, key: string, optional = false): Float32Array | null {
  const w = a.weight(key, optional)
  return w ? Float32Array.from(w.data) : null
}

/** Applies a Keras activation by name; `out` is the name the result gets (the layer name). */
export function activate(a: LayerArgs, x: string, act: unknown, out: string, rank: number): string {
  const w = a.ctx.w
  const name = typeof act === 'string' ? act : act && typeof act === 'object' ? String((act as { class_name?: string }).class_name ?? '') : 'linear'
  switch (name.toLowerCase()) {
    case '':
    case 'linear':
      return x === out ? x : w.op('Identity', [x], {}, out)
    case 'relu':
      return w.op('Relu', [x], {}, out)
    case 'relu6':
      return w.op('Clip', [x, w.weight(`${out}/min`, [0], []), w.weight(`${out}/max`, [6], [])], {}, out)
    case 'sigmoid':
      return w.op('Sigmoid', [x], {}, out)
    case 'tanh':
      return w.op('Tanh', [x], {}, out)
    case 'softplus':
      return w.op('Softplus', [x], {}, out)
    case 'elu':
      return w.op('Elu', [x], {}, out)
    case 'selu':
      return w.op('Selu', [x], {}, out)
    case 'exponential':
      return w.op('Exp', [x], {}, out)
    case 'hard_sigmoid':
    case 'hardsigmoid':
      return w.op('HardSigmoid', [x], { alpha: { __float: 0.2 }, beta: { __float: 0.5 } }, out)
    case 'swish':
    case 'silu':
      return w.op('Mul', [x, w.op('Sigmoid', [x], {}, `${out}/sigmoid`)], {}, out)
    case 'softmax':
      return w.op('Softmax', [x], { axis: onnxAxis(-1, rank) }, out)
    case 'log_softmax':
      return w.op('LogSoftmax', [x], { axis: onnxAxis(-1, rank) }, out)
    default:
      throw unsupported(a, `activation '${name}'`)
  }
}

const hasActivation = (act: unknown) => act !== undefined && act !== null && act !== 'linear'

/** Conv output then bias and activation; the layer name goes to the last tensor. */
function convFamily(a: LayerArgs, x: KTensor, kernel: [number, number], strides: [number, number], dil: [number, number], group: number, wName: string, bName: string | null): string {
  const [, h, wd] = x.shape
  const padding = String(a.cfg.padding ?? 'valid') as 'same' | 'valid'
  const attrs: Record<string, BuilderAttr> = { kernel_shape: kernel, strides, dilations: dil, group }
  if (padding === 'same') {
    if (h === null || wd === null) attrs.auto_pad = 'SAME_UPPER'
    else {
      const [t, b] = samePads(h, kernel[0], strides[0], dil[0])
      const [l, r] = samePads(wd, kernel[1], strides[1], dil[1])
      attrs.pads = [t, l, b, r]
    }
  } else if (padding !== 'valid') throw unsupported(a, `padding '${padding}'`)
  const out = hasActivation(a.cfg.activation) ? `${a.name}/${bName ? 'BiasAdd' : 'Conv2D'}` : a.name
  return a.ctx.w.op('Conv', bName ? [x.name, wName, bName] : [x.name, wName], attrs, out)
}

function convShape(a: LayerArgs, x: KTensor, kernel: [number, number], strides: [number, number], dil: [number, number], co: number): (number | null)[] {
  const padding = String(a.cfg.padding ?? 'valid') as 'same' | 'valid'
  const [n, h, w] = x.shape
  return [n, h === null ? null : convOut(h, kernel[0], strides[0], padding, dil[0]), w === null ? null : convOut(w, kernel[1], strides[1], padding, dil[1]), co]
}

const conv2d: LayerRule = (a, [x]) => {
  only4d(a, x)
  const k = a.weight('kernel')!
  const [kh, kw, ci, co] = k.shape
  const strides = pair(a.cfg.strides, 1)
  const dil = pair(a.cfg.dilation_rate, 1)
  const group = Number(a.cfg.groups ?? 1)
  const wName = a.ctx.w.weight(`${a.name}/kernel`, hwioToOihw(k.data, k.shape), [co, ci, kh, kw])
  const bias = a.cfg.use_bias === false ? null : values(a, 'bias')
  const bName = bias ? a.ctx.w.weight(`${a.name}/bias`, bias, [co]) : null
  const conv = convFamily(a, x, [kh, kw], strides, dil, group, wName, bName)
  return { name: activate(a, conv, a.cfg.activation, a.name, 4), shape: convShape(a, x, [kh, kw], strides, dil, co) }
}

/** The depthwise step of DepthwiseConv2D and SeparableConv2D. */
function depthwise(a: LayerArgs, x: KTensor, withBias: boolean, out: string): { name: string; channels: number } {
  const k = a.weight('depthwise_kernel')!
  const [kh, kw, ci, m] = k.shape
  const strides = pair(a.cfg.strides, 1)
  const dil = pair(a.cfg.dilation_rate, 1)
  const wName = a.ctx.w.weight(`${a.name}/depthwise_kernel`, depthwiseToOihw(k.data, k.shape), [ci * m, 1, kh, kw])
  const bias = withBias && a.cfg.use_bias !== false ? values(a, 'bias') : null
  const bName = bias ? a.ctx.w.weight(`${a.name}/bias`, bias, [ci * m]) : null
  const padding = String(a.cfg.padding ?? 'valid')
  const attrs: Record<string, BuilderAttr> = { kernel_shape: [kh, kw], strides, dilations: dil, group: ci }
  if (padding === 'same') {
    const [, h, wd] = x.shape
    if (h === null || wd === null) attrs.auto_pad = 'SAME_UPPER'
    else {
      const [t, b] = samePads(h, kh, strides[0], dil[0])
      const [l, r] = samePads(wd, kw, strides[1], dil[1])
      attrs.pads = [t, l, b, r]
    }
  } else if (padding !== 'valid') throw unsupported(a, `padding '${padding}'`)
  return { name: a.ctx.w.op('Conv', bName ? [x.name, wName, bName] : [x.name, wName], attrs, out), channels: ci * m }
}

const depthwiseConv2d: LayerRule = (a, [x]) => {
  only4d(a, x)
  const k = a.weight('depthwise_kernel')!
  const out = hasActivation(a.cfg.activation) ? `${a.name}/${a.cfg.use_bias === false ? 'depthwise' : 'BiasAdd'}` : a.name
  const d = depthwise(a, x, true, out)
  const kernel: [number, number] = [k.shape[0], k.shape[1]]
  return { name: activate(a, d.name, a.cfg.activation, a.name, 4), shape: convShape(a, x, kernel, pair(a.cfg.strides, 1), pair(a.cfg.dilation_rate, 1), d.channels) }
}

const separableConv2d: LayerRule = (a, [x]) => {
  only4d(a, x)
  const k = a.weight('depthwise_kernel')!
  const d = depthwise(a, x, false, `${a.name}/depthwise`)
  const p = a.weight('pointwise_kernel')!
  const [, , ci, co] = p.shape
  const wName = a.ctx.w.weight(`${a.name}/pointwise_kernel`, hwioToOihw(p.data, p.shape), [co, ci, 1, 1])
  const bias = a.cfg.use_bias === false ? null : values(a, 'bias')
  const bName = bias ? a.ctx.w.weight(`${a.name}/bias`, bias, [co]) : null
  const out = hasActivation(a.cfg.activation) ? `${a.name}/${bName ? 'BiasAdd' : 'Conv2D'}` : a.name
  const pw = a.ctx.w.op('Conv', bName ? [d.name, wName, bName] : [d.name, wName], { kernel_shape: [1, 1] }, out)
  const kernel: [number, number] = [k.shape[0], k.shape[1]]
  return { name: activate(a, pw, a.cfg.activation, a.name, 4), shape: convShape(a, x, kernel, pair(a.cfg.strides, 1), pair(a.cfg.dilation_rate, 1), co) }
}

/** NCHW -> NHWC (before anything that reads a 4-D tensor in Keras' element order). */
export function toChannelsLast(w: OnnxWriter, x: KTensor, out: string): string {
  return x.shape.length === 4 ? w.op('Transpose', [x.name], { perm: [0, 2, 3, 1] }, out) : x.name
}

const dense: LayerRule = (a, [x]) => {
  const k = a.weight('kernel')!
  const [fi, fo] = k.shape
  const w = a.ctx.w
  const kName = w.weight(`${a.name}/kernel`, k.data, [fi, fo])
  const bias = a.cfg.use_bias === false ? null : values(a, 'bias')
  const bName = bias ? w.weight(`${a.name}/bias`, bias, [fo]) : null
  const act = hasActivation(a.cfg.activation)
  const shape = [...x.shape.slice(0, -1), fo]
  if (x.shape.length === 2) {
    // Gemm (not MatMul + Add) so the few-shot head finder sees one linear node with its bias.
    const out = act ? `${a.name}/${bName ? 'BiasAdd' : 'MatMul'}` : a.name
    const y = bName ? w.op('Gemm', [x.name, kName, bName], {}, out) : w.op('MatMul', [x.name, kName], {}, out)
    return { name: activate(a, y, a.cfg.activation, a.name, 2), shape }
  }
  // Dense on a higher-rank tensor acts on the last Keras axis: compute channels-last, then back.
  const last = toChannelsLast(w, x, `${a.name}/nhwc`)
  const mm = w.op('MatMul', [last, kName], {}, bName || act || shape.length === 4 ? `${a.name}/MatMul` : a.name)
  let y = bName ? w.op('Add', [mm, bName], {}, act || shape.length === 4 ? `${a.name}/BiasAdd` : a.name) : mm
  if (shape.length === 4) y = w.op('Transpose', [y], { perm: [0, 3, 1, 2] }, act ? `${a.name}/nchw` : a.name)
  return { name: activate(a, y, a.cfg.activation, a.name, shape.length), shape }
}

const batchNorm: LayerRule = (a, [x]) => {
  const rank = x.shape.length
  const axisCfg = a.cfg.axis
  const axis = Number(Array.isArray(axisCfg) ? axisCfg[0] : (axisCfg ?? -1))
  if ((axis < 0 ? axis + rank : axis) !== rank - 1) throw unsupported(a, `normalising axis ${axis} (only the channel axis)`)
  if (rank !== 2 && rank !== 4) throw unsupported(a, `an input of rank ${rank}`)
  const c = x.shape[rank - 1] ?? a.weight('moving_mean')!.shape[0]
  const w = a.ctx.w
  const gamma = a.cfg.scale === false ? new Float32Array(c).fill(1) : values(a, 'gamma')!
  const beta = a.cfg.center === false ? new Float32Array(c) : values(a, 'beta')!
  const ins = [
    x.name,
    w.weight(`${a.name}/gamma`, gamma, [c]),
    w.weight(`${a.name}/beta`, beta, [c]),
    w.weight(`${a.name}/moving_mean`, values(a, 'moving_mean')!, [c]),
    w.weight(`${a.name}/moving_variance`, values(a, 'moving_variance')!, [c])
  ]
  return { name: w.op('BatchNormalization', ins, { epsilon: { __float: Number(a.cfg.epsilon ?? 1e-3) } }, a.name), shape: x.shape }
}

const activation: LayerRule = (a, [x]) => ({ name: activate(a, x.name, a.cfg.activation, a.name, x.shape.length), shape: x.shape })

const relu: LayerRule = (a, [x]) => {
  const w = a.ctx.w
  const max = a.cfg.max_value === null || a.cfg.max_value === undefined ? null : Number(a.cfg.max_value)
  const slope = Number(a.cfg.negative_slope ?? 0)
  if (Number(a.cfg.threshold ?? 0) !== 0) throw unsupported(a, 'a non-zero threshold')
  if (slope !== 0 && max !== null) throw unsupported(a, 'negative_slope together with max_value')
  if (slope !== 0) return { name: w.op('LeakyRelu', [x.name], { alpha: { __float: slope } }, a.name), shape: x.shape }
  if (max !== null) return { name: w.op('Clip', [x.name, w.weight(`${a.name}/min`, [0], []), w.weight(`${a.name}/max`, [max], [])], {}, a.name), shape: x.shape }
  return { name: w.op('Relu', [x.name], {}, a.name), shape: x.shape }
}

const leakyRelu: LayerRule = (a, [x]) => ({
  name: a.ctx.w.op('LeakyRelu', [x.name], { alpha: { __float: Number(a.cfg.alpha ?? a.cfg.negative_slope ?? 0.3) } }, a.name),
  shape: x.shape
})

const prelu: LayerRule = (a, [x]) => {
  const alpha = a.weight('alpha')!
  let data: Float32Array = Float32Array.from(alpha.data)
  let dims = alpha.shape
  // Keras keeps alpha channels-last ([H, W, C], shared axes as 1); the ONNX tensor is NCHW.
  if (x.shape.length === 4 && dims.length === 3) {
    data = hwcToChw(alpha.data, dims)
    dims = [dims[2], dims[0], dims[1]]
  }
  return { name: a.ctx.w.op('PRelu', [x.name, a.ctx.w.weight(`${a.name}/alpha`, data, dims)], {}, a.name), shape: x.shape }
}

const softmax: LayerRule = (a, [x]) => {
  const axis = Number(Array.isArray(a.cfg.axis) ? a.cfg.axis[0] : (a.cfg.axis ?? -1))
  return { name: a.ctx.w.op('Softmax', [x.name], { axis: onnxAxis(axis, x.shape.length) }, a.name), shape: x.shape }
}

function pool(op: 'MaxPool' | 'AveragePool'): LayerRule {
  return (a, [x]) => {
    only4d(a, x)
    const k = pair(a.cfg.pool_size, 2)
    const s = a.cfg.strides === null || a.cfg.strides === undefined ? k : pair(a.cfg.strides, 1)
    const padding = String(a.cfg.padding ?? 'valid') as 'same' | 'valid'
    const attrs: Record<string, BuilderAttr> = { kernel_shape: k, strides: s }
    const [n, h, wd, c] = x.shape
    if (padding === 'same') {
      // AveragePool's default count_include_pad=0 averages over real pixels only, as TF does.
      if (h === null || wd === null) attrs.auto_pad = 'SAME_UPPER'
      else {
        const [t, b] = samePads(h, k[0], s[0])
        const [l, r] = samePads(wd, k[1], s[1])
        attrs.pads = [t, l, b, r]
      }
    } else if (padding !== 'valid') throw unsupported(a, `padding '${padding}'`)
    const shape = [n, h === null ? null : convOut(h, k[0], s[0], padding), wd === null ? null : convOut(wd, k[1], s[1], padding), c]
    return { name: a.ctx.w.op(op, [x.name], attrs, a.name), shape }
  }
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerRule {
  return (a, [x]) => {
    only4d(a, x)
    const w = a.ctx.w
    const [n, , , c] = x.shape
    if (a.cfg.keepdims === true) return { name: w.op(op, [x.name], {}, a.name), shape: [n, 1, 1, c] }
    const pooled = w.op(op, [x.name], {}, `${a.name}/pool`)
    return { name: w.op('Flatten', [pooled], { axis: 1 }, a.name), shape: [n, c] }
  }
}

function merge(kind: 'Add' | 'Mul' | 'Sub' | 'Max' | 'Min' | 'Average'): LayerRule {
  return (a, xs) => {
    const w = a.ctx.w
    const rank = xs[0].shape.length
    if (xs.some((x) => x.shape.length !== rank)) throw unsupported(a, 'inputs of different ranks')
    if (kind === 'Sub' && xs.length !== 2) throw unsupported(a, `${xs.length} inputs (Subtract takes 2)`)
    const op = kind === 'Average' ? 'Add' : kind
    let acc = xs[0].name
    for (let i = 1; i < xs.length; i++) {
      const last = i === xs.length - 1 && kind !== 'Average'
      acc = w.op(op, [acc, xs[i].name], {}, last ? a.name : `${a.name}/${op}_${i}`)
    }
    if (kind === 'Average') acc = w.op('Mul', [acc, w.weight(`${a.name}/inv_n`, [1 / xs.length], [])], {}, a.name)
    const shape = xs[0].shape.map((d, i) => xs.reduce<number | null>((m, x) => (m === null || x.shape[i] === null ? m ?? x.shape[i] : Math.max(m, x.shape[i]!)), d))
    return { name: acc, shape }
  }
}

const concatenate: LayerRule = (a, xs) => {
  const rank = xs[0].shape.length
  const axis = Number(a.cfg.axis ?? -1)
  const ka = axis < 0 ? axis + rank : axis
  const shape = [...xs[0].shape]
  shape[ka] = xs.some((x) => x.shape[ka] === null) ? null : xs.reduce((s, x) => s + (x.shape[ka] as number), 0)
  return { name: a.ctx.w.op('Concat', xs.map((x) => x.name), { axis: onnxAxis(ka, rank) }, a.name), shape }
}

const flatten: LayerRule = (a, [x]) => {
  // Flatten in Keras order (channels last), so the Dense weights after it line up.
  const last = toChannelsLast(a.ctx.w, x, `${a.name}/nhwc`)
  const rest = x.shape.slice(1)
  const size = rest.some((d) => d === null) ? null : rest.reduce<number>((p, d) => p * (d as number), 1)
  return { name: a.ctx.w.op('Flatten', [last], { axis: 1 }, a.name), shape: [x.shape[0], size] }
}

const reshape: LayerRule = (a, [x]) => {
  const w = a.ctx.w
  const target = (a.cfg.target_shape as number[]).map(Number)
  const last = toChannelsLast(w, x, `${a.name}/nhwc`)
  const known = x.shape.slice(1).every((d) => d !== null)
  const total = known ? x.shape.slice(1).reduce<number>((p, d) => p * (d as number), 1) : null
  const fixed = target.filter((d) => d !== -1).reduce((p, d) => p * d, 1)
  const dims = target.map((d) => (d === -1 && total !== null ? total / fixed : d))
  const shape: (number | null)[] = [x.shape[0], ...dims.map((d) => (d === -1 ? null : d))]
  // 0 copies the batch size from the input (allowzero = 0, the default).
  const shapeName = w.ints(`${a.name}/shape`, [0, ...dims])
  if (dims.length === 3) {
    const y = w.op('Reshape', [last, shapeName], {}, `${a.name}/nhwc_out`)
    return { name: w.op('Transpose', [y], { perm: [0, 3, 1, 2] }, a.name), shape }
  }
  return { name: w.op('Reshape', [last, shapeName], {}, a.name), shape }
}

const identity: LayerRule = (a, [x]) => ({ name: a.ctx.w.op('Identity', [x.name], {}, a.name), shape: x.shape })

const zeroPadding: LayerRule = (a, [x]) => {
  only4d(a, x)
  const p = a.cfg.padding
  let t: number, b: number, l: number, r: number
  if (typeof p === 'number') [t, b, l, r] = [p, p, p, p]
  else if (Array.isArray(p) && Array.isArray(p[0])) [[t, b], [l, r]] = p as [[number, number], [number, number]]
  else if (Array.isArray(p)) [t, b, l, r] = [p[0], p[0], p[1], p[1]].map(Number)
  else [t, b, l, r] = [1, 1, 1, 1]
  const pads = a.ctx.w.ints(`${a.name}/pads`, [0, 0, t, l, 0, 0, b, r])
  const [n, h, wd, c] = x.shape
  return { name: a.ctx.w.op('Pad', [x.name, pads], { mode: 'constant' }, a.name), shape: [n, h === null ? null : h + t + b, wd === null ? null : wd + l + r, c] }
}

const upSampling: LayerRule = (a, [x]) => {
  only4d(a, x)
  const w = a.ctx.w
  const [sh, sw] = pair(a.cfg.size, 2)
  const bilinear = a.cfg.interpolation === 'bilinear'
  // tfjs resizes with resizeNearestNeighbor / resizeBilinear (no align corners, no half-pixel centres):
  // ONNX's 'asymmetric' transform; nearest takes floor(o / s), i.e. repeats each pixel.
  const attrs: Record<string, BuilderAttr> = bilinear
    ? { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }
    : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
  const scales = w.weight(`${a.name}/scales`, [1, 1, sh, sw], [4])
  const [n, h, wd, c] = x.shape
  return { name: w.op('Resize', [x.name, '', scales], attrs, a.name), shape: [n, h === null ? null : h * sh, wd === null ? null : wd * sw, c] }
}

/** x * scale + offset, one value or one per channel (a 4-D tensor is held NCHW: channels on axis 1). */
function channelAffine(a: LayerArgs, x: KTensor, { scale, offset }: ChannelAffine): KTensor {
  const w = a.ctx.w
  const dims = (v: number[]) => (v.length === 1 ? [] : x.shape.length === 4 ? [1, v.length, 1, 1] : [v.length])
  const scaled = w.op('Mul', [x.name, w.weight(`${a.name}/scale`, scale, dims(scale))], {}, `${a.name}/scaled`)
  return { name: w.op('Add', [scaled, w.weight(`${a.name}/offset`, offset, dims(offset))], {}, a.name), shape: x.shape }
}

const rescaling: LayerRule = (a, [x]) => {
  const affine = rescalingAffine(a.cfg)
  if (!affine) throw unsupported(a, `a scale of ${JSON.stringify(a.cfg.scale)}`)
  return channelAffine(a, x, affine)
}

/** Keras' Normalization layer (mean and variance over the channels), as the affine map it is. */
const normalization: LayerRule = (a, [x]) => {
  const affine = normalizationAffine(a.cfg, (key) => a.weight(key, true)?.data ?? null)
  if (!affine) throw unsupported(a, 'a Normalization without mean and variance over the last axis')
  return channelAffine(a, x, affine)
}

/** Keras class name -> converter. Nested models (Sequential, Model, Functional) are handled by the topology walker. */
export const LAYER_RULES: Record<string, LayerRule> = {
  Conv2D: conv2d,
  Convolution2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  SeparableConvolution2D: separableConv2d,
  Dense: dense,
  BatchNormalization: batchNorm,
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  PReLU: prelu,
  Softmax: softmax,
  MaxPooling2D: pool('MaxPool'),
  MaxPool2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  AvgPool2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalAvgPool2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  GlobalMaxPool2D: globalPool('GlobalMaxPool'),
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Subtract: merge('Sub'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Average: merge('Average'),
  Concatenate: concatenate,
  Flatten: flatten,
  Reshape: reshape,
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
  ZeroPadding2D: zeroPadding,
  UpSampling2D: upSampling,
  Rescaling: rescaling,
  Normalization: normalization
}
