import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { randomValues, rng, type CheckInput, type CheckSpec } from '../oracles/vjp-check'
import { distinctValues, grad, k, refuses, x } from '../vjp-helpers'
import { RULES } from '../../src/main/engine/autodiff/rules'
import { floatAttr } from '../../src/main/engine/onnx/builder'
import { DataType, f32, i64, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'

/**
 * Every VJP rule against central finite differences (checkVjp: a one-node model, analytic gradients
 * from our backward graph in onnxruntime). Inputs are placed away from kinks, batch is 2 (the probe's).
 * The bound is the spec: a failure means a wrong rule, never a tolerance to loosen.
 */

// ---------- fixtures ----------

const r = rng(20240611)
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)

/** Random values in ±[0.05, 1.05], times `scale`. */
const rand = (dims: number[], scale = 1) => randomValues(size(dims), r).map((v) => v * scale)

/** Random magnitudes in [lo, hi], with random signs unless `signed` is false (denominators, variances). */
const magnitude = (dims: number[], lo: number, hi: number, signed = true) =>
  randomValues(size(dims), r, 0).map((v) => {
    const m = lo + Math.abs(v) * (hi - lo)
    return signed && v < 0 ? -m : m
  })

/** Moves values within `margin` of a kink out to kink ± margin (the FD step is 1e-2). */
const away = (values: Float32Array, kinks: number[], margin = 0.05) =>
  values.map((v) => {
    for (const kink of kinks) if (Math.abs(v - kink) < margin) return v >= kink ? kink + margin : kink - margin
    return v
  })

const distinct = (dims: number[], step = 0.05) => distinctValues(dims, r, step)

const cf = (dims: number[], data: ArrayLike<number> = rand(dims)): ConstTensor => f32(data, dims)
const ci = (values: number[], dims: number[] = [values.length]): ConstTensor => i64(values, dims)
/** torch.onnx writes "to the end" as INT64_MAX. */
const INT64_MAX: ConstTensor = { dataType: DataType.INT64, dims: [1], data: BigInt64Array.from([9223372036854775807n]) }

/** A weight: an initializer in the real model, differentiated here (as when training). */
const wd = (name: string, dims: number[]): CheckInput => ({ name, dims, constant: cf(dims), differentiate: true })




// ---------- tests ----------

describe('Conv', () => {
  const conv = (xDims: number[], wDims: number[], attrs: CheckSpec['attrs'], bias = false, diffW = true): CheckSpec => ({
    opType: 'Conv',
    attrs,
    inputs: [x('x', xDims), diffW ? wd('w', wDims) : k('w', cf(wDims)), ...(bias ? [wd('b', [wDims[0]])] : [])]
  })
  grad('k3 s1 p1 with bias (x, w, b)', () => conv([2, 4, 7, 7], [6, 4, 3, 3], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, true), ['x', 'w', 'b'])
  grad('k3 s1 p0, no bias, constant weights (x only)', () => conv([2, 3, 6, 6], [5, 3, 3, 3], { kernel_shape: [3, 3] }, false, false), ['x'])
  grad('k3 s2 p1 on 7x7 (no remainder)', () => conv([2, 3, 7, 7], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }))
  grad('k3 s2 p1 on 8x8 (output_padding 1)', () => conv([2, 3, 8, 8], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, true))
  grad('asymmetric pads [0,1,1,2], stride 2', () => conv([2, 3, 7, 8], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 2] }))
  grad('dilation 2, pad 2', () => conv([2, 3, 9, 9], [4, 3, 3, 3], { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] }, true))
  grad('dilation 2 with stride 2', () => conv([2, 2, 10, 10], [3, 2, 3, 3], { kernel_shape: [3, 3], dilations: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }))
  grad('depthwise (group = channels), s2 p1', () => conv([2, 4, 7, 7], [4, 1, 3, 3], { kernel_shape: [3, 3], group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }, true))
  grad('depthwise with multiplier 2', () => conv([2, 3, 6, 6], [6, 1, 3, 3], { kernel_shape: [3, 3], group: 3, pads: [1, 1, 1, 1] }))
  grad('group 2', () => conv([2, 4, 6, 6], [6, 2, 3, 3], { kernel_shape: [3, 3], group: 2, pads: [1, 1, 1, 1] }, true))
  grad('group 2 with stride 2 and dilation 2', () => conv([2, 4, 9, 9], [4, 2, 3, 3], { kernel_shape: [3, 3], group: 2, strides: [2, 2], dilations: [2, 2], pads: [1, 2, 2, 1] }))
  grad('1x1 s1 (pointwise)', () => conv([2, 4, 5, 5], [3, 4, 1, 1], { kernel_shape: [1, 1] }, true))
  grad('1x1 s2 on 8x8 (ResNet downsample)', () => conv([2, 4, 8, 8], [6, 4, 1, 1], { kernel_shape: [1, 1], strides: [2, 2] }))
  grad('k7 s2 p3 (ResNet stem)', () => conv([2, 3, 16, 16], [4, 3, 7, 7], { kernel_shape: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3] }, true))
  grad('no kernel_shape attribute (from the weights)', () => conv([2, 3, 6, 6], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }))
  grad('auto_pad SAME_UPPER k3 s2 on 7x7', () => conv([2, 3, 7, 7], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }))
  grad('auto_pad SAME_UPPER k4 s2 on 7x7 (odd total pad)', () => conv([2, 3, 7, 7], [4, 3, 4, 4], { kernel_shape: [4, 4], strides: [2, 2], auto_pad: 'SAME_UPPER' }, true))
  grad('auto_pad SAME_LOWER k2 s1', () => conv([2, 3, 6, 6], [4, 3, 2, 2], { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' }))
  grad('auto_pad VALID k3 s2 on 8x8', () => conv([2, 3, 8, 8], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' }))
  grad('1-D conv k3 s2 p1', () => conv([2, 3, 10], [4, 3, 3], { kernel_shape: [3], strides: [2], pads: [1, 1] }, true))
})

describe('ConvTranspose', () => {
  const convT = (xDims: number[], wDims: number[], attrs: CheckSpec['attrs'], bias = false): CheckSpec => ({
    opType: 'ConvTranspose',
    attrs,
    inputs: [x('x', xDims), k('w', cf(wDims)), ...(bias ? [k('b', cf([wDims[1] * (Number((attrs ?? {}).group) || 1)]))] : [])]
  })
  grad('k3 s1 p1', () => convT([2, 4, 5, 5], [4, 3, 3, 3], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), ['x'])
  grad('k3 s2 p1 output_padding 1, bias', () => convT([2, 4, 5, 5], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, true))
  grad('k4 s2 p1 (DCGAN upsampler)', () => convT([2, 3, 4, 4], [3, 2, 4, 4], { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] }))
  grad('group 2, dilation 2', () => convT([2, 4, 4, 4], [4, 2, 3, 3], { kernel_shape: [3, 3], group: 2, dilations: [2, 2] }, true))
  grad('k2 s2 no pads', () => convT([2, 3, 3, 3], [3, 4, 2, 2], { kernel_shape: [2, 2], strides: [2, 2] }))
  // Weight and bias gradients: test/unit/vjp-training-rules.test.ts.
  refuses(
    'auto_pad',
    () => ({ opType: 'ConvTranspose', attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }, inputs: [x('x', [2, 3, 4, 4]), k('w', cf([3, 2, 3, 3]))] }),
    /ConvTranspose with auto_pad/
  )
})

describe('Gemm', () => {
  const gemm = (transA: number, transB: number, cDims: number[] | null, attrs: CheckSpec['attrs'] = {}): CheckSpec => {
    const [M, K, N] = [2, 5, 3]
    return {
      opType: 'Gemm',
      attrs: { transA, transB, ...attrs },
      inputs: [x('a', transA ? [K, M] : [M, K]), x('b', transB ? [N, K] : [K, N]), ...(cDims ? [x('c', cDims)] : [])]
    }
  }
  for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    grad(`transA=${ta} transB=${tb}, C [N]`, () => gemm(ta, tb, [3]), ['a', 'b', 'c'])
    grad(`transA=${ta} transB=${tb}, alpha 0.5 beta 2, C [M,N]`, () => gemm(ta, tb, [2, 3], { alpha: 0.5, beta: floatAttr(2) }))
  }
  grad('C [1,N], beta 0.25', () => gemm(0, 1, [1, 3], { beta: 0.25 }))
  grad('C [M,1]', () => gemm(0, 1, [2, 1]))
  grad('no C, alpha 2', () => gemm(0, 1, null, { alpha: floatAttr(2) }), ['a', 'b'])
  grad('constant weights and bias (a only, as in a classifier head)', () => ({
    opType: 'Gemm',
    attrs: { transB: 1 },
    inputs: [x('a', [2, 6]), k('b', cf([4, 6])), k('c', cf([4]))]
  }), ['a'])
})

describe('MatMul', () => {
  grad('2-D', () => ({ opType: 'MatMul', inputs: [x('a', [2, 4]), x('b', [4, 3])] }), ['a', 'b'])
  grad('3-D with 2-D weight (broadcast)', () => ({ opType: 'MatMul', inputs: [x('a', [2, 3, 4]), x('b', [4, 5])] }))
  grad('2-D with batched 3-D', () => ({ opType: 'MatMul', inputs: [x('a', [3, 4]), x('b', [2, 4, 5])] }))
  grad('batched 3-D both sides', () => ({ opType: 'MatMul', inputs: [x('a', [2, 3, 4]), x('b', [2, 4, 5])] }))
  grad('4-D with broadcast batch axes [2,1] x [3]', () => ({ opType: 'MatMul', inputs: [x('a', [2, 1, 3, 4]), x('b', [3, 4, 2])] }))
  refuses('1-D operands', () => ({ opType: 'MatMul', inputs: [x('a', [2, 4]), x('b', [4])] }), /MatMul with 1-D operands/)
})

describe('MaxPool', () => {
  const pool = (dims: number[], attrs: CheckSpec['attrs'], opset?: number): CheckSpec => ({
    opType: 'MaxPool',
    attrs,
    inputs: [x('x', dims, distinct(dims))],
    ...(opset ? { opset } : {})
  })
  grad('k2 s2', () => pool([2, 3, 8, 8], { kernel_shape: [2, 2], strides: [2, 2] }))
  grad('k3 s2 p1 (overlapping, ResNet)', () => pool([2, 3, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }))
  grad('k3 s2 p1 at opset 17', () => pool([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 17))
  grad('k3 s2 ceil_mode (SqueezeNet)', () => pool([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }))
  grad('k2 s2 ceil_mode on 7x7', () => pool([2, 3, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }))
  grad('k3 s1 p1 (Inception branch pool)', () => pool([2, 2, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }))
  grad('k2 s1 dilation 2', () => pool([2, 2, 6, 6], { kernel_shape: [2, 2], dilations: [2, 2] }))
  grad('k2 s2 dilation 2 (overlap through dilation)', () => pool([2, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2] }))
  grad('auto_pad SAME_UPPER k3 s2', () => pool([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }))
  grad('auto_pad SAME_LOWER k2 s1', () => pool([2, 2, 5, 5], { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' }))
  grad('1-D k3 s2 p1', () => pool([2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }))
  refuses('storage_order=1', () => pool([2, 2, 4, 4], { kernel_shape: [2, 2], strides: [2, 2], storage_order: 1 }), /storage_order/)
})

describe('AveragePool', () => {
  const pool = (dims: number[], attrs: CheckSpec['attrs']): CheckSpec => ({ opType: 'AveragePool', attrs, inputs: [x('x', dims)] })
  grad('k2 s2 (DenseNet transition)', () => pool([2, 3, 8, 8], { kernel_shape: [2, 2], strides: [2, 2] }))
  grad('k3 s1 p1 count_include_pad 0', () => pool([2, 3, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 0 }))
  grad('k3 s1 p1 count_include_pad 1', () => pool([2, 3, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }))
  grad('k3 s2 asymmetric pads', () => pool([2, 2, 7, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 2] }))
  grad('k1 s1 (VGG adaptive pool on 7x7)', () => pool([2, 3, 7, 7], { kernel_shape: [1, 1], strides: [1, 1] }))
  grad('k3 s2 ceil_mode on 8x8', () => pool([2, 3, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }))
  grad('k2 s2 ceil_mode on 7x7, count_include_pad 1', () => pool([2, 3, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1, count_include_pad: 1 }))
  grad('k3 s2 p1 ceil_mode, count_include_pad 0', () => pool([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }))
  grad('k3 s2 p1 ceil_mode, count_include_pad 1', () => pool([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }))
  grad('auto_pad SAME_UPPER k3 s2', () => pool([2, 2, 8, 8], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }))
  grad('auto_pad SAME_LOWER k2 s2 on 7x7, count_include_pad 1', () => pool([2, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_LOWER', count_include_pad: 1 }))
  grad('1-D k3 s2', () => pool([2, 3, 9], { kernel_shape: [3], strides: [2] }))
  refuses('dilations (opset 19)', () => ({ ...pool([2, 2, 6, 6], { kernel_shape: [2, 2], dilations: [2, 2] }), opset: 19 }), /AveragePool with dilations/)
})

describe('global pools and reductions', () => {
  grad('GlobalAveragePool', () => ({ opType: 'GlobalAveragePool', inputs: [x('x', [2, 3, 5, 5])] }))
  grad('GlobalMaxPool', () => ({ opType: 'GlobalMaxPool', inputs: [x('x', [2, 3, 4, 4], distinct([2, 3, 4, 4]))]}))
  const reduce = (op: string, dims: number[], attrs: CheckSpec['attrs'], axes?: number[], opset?: number): CheckSpec => ({
    opType: op,
    attrs,
    inputs: [x('x', dims), ...(axes ? [k('axes', ci(axes))] : [])],
    ...(opset ? { opset } : {})
  })
  grad('ReduceMean axes attr [2,3] keepdims 1', () => reduce('ReduceMean', [2, 3, 4, 4], { axes: [2, 3], keepdims: 1 }))
  grad('ReduceMean axes attr [2,3] keepdims 0', () => reduce('ReduceMean', [2, 3, 4, 4], { axes: [2, 3], keepdims: 0 }))
  grad('ReduceMean axes [-1] keepdims 0', () => reduce('ReduceMean', [2, 3, 5], { axes: [-1], keepdims: 0 }))
  grad('ReduceMean default keepdims (1), axes [1]', () => reduce('ReduceMean', [2, 3, 4], { axes: [1] }))
  grad('ReduceMean opset 18 axes input [-2,-1] keepdims 0', () => reduce('ReduceMean', [2, 3, 3, 4], { keepdims: 0 }, [-2, -1], 18))
  grad('ReduceSum axes input [2,3] keepdims 1', () => reduce('ReduceSum', [2, 3, 4, 4], { keepdims: 1 }, [2, 3]))
  grad('ReduceSum axes input [2,3] keepdims 0', () => reduce('ReduceSum', [2, 3, 4, 4], { keepdims: 0 }, [2, 3]))
  grad('ReduceSum axes input [-1] keepdims 0', () => reduce('ReduceSum', [2, 3, 5], { keepdims: 0 }, [-1]))
  grad('ReduceSum over every axis (no axes), keepdims 1', () => reduce('ReduceSum', [2, 3, 4], {}))
  grad('ReduceSum over every axis, keepdims 0', () => reduce('ReduceSum', [2, 3, 4], { keepdims: 0 }))
  grad('ReduceSum over the batch axis [0], keepdims 0', () => reduce('ReduceSum', [2, 3, 4], { keepdims: 0 }, [0]))
  grad('ReduceSum noop_with_empty_axes 1 (identity)', () => reduce('ReduceSum', [2, 3, 4], { noop_with_empty_axes: 1 }))
  grad('ReduceMean over the batch axis [0], keepdims 0', () => reduce('ReduceMean', [2, 3], { axes: [0], keepdims: 0 }))
  grad('ReduceMean over every axis, keepdims 0', () => reduce('ReduceMean', [2, 3, 2], { keepdims: 0 }))
})

describe('elementwise arithmetic', () => {
  const shapes: [string, number[]][] = [
    ['[1,3,1,1]', [1, 3, 1, 1]],
    ['[3,1,1]', [3, 1, 1]],
    ['[4]', [4]],
    ['scalar', []]
  ]
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    // Divisors stay in ±[0.75, 1.5]: nearer zero 1/b curves enough for the 1e-2 step's own error to show.
    const rhs = (dims: number[]) => (op === 'Div' ? magnitude(dims, 0.75, 1.5) : rand(dims))
    grad(`${op} same shape`, () => ({ opType: op, inputs: [x('a', [2, 3, 4]), x('b', [2, 3, 4], rhs([2, 3, 4]))] }), ['a', 'b'])
    for (const [label, dims] of shapes) {
      grad(`${op} [2,3,4,4] with ${label}`, () => ({ opType: op, inputs: [x('a', [2, 3, 4, 4]), x('b', dims, rhs(dims))] }), ['a', 'b'])
    }
    grad(`${op} scalar with [2,3,4] (broadcast on the left)`, () => ({
      opType: op,
      inputs: [x('a', []), x('b', [2, 3, 4], rhs([2, 3, 4]))]
    }))
    grad(`${op} [2,1,4] with [3,1] (both broadcast)`, () => ({ opType: op, inputs: [x('a', [2, 1, 4]), x('b', [3, 1], rhs([3, 1]))] }))
    grad(`${op} with a constant right side`, () => ({ opType: op, inputs: [x('a', [2, 3]), k('b', cf([3], rhs([3])))] }), ['a'])
  }
  grad('Neg', () => ({ opType: 'Neg', inputs: [x('x', [2, 3, 4])] }))
  grad('Sum of 3 inputs with broadcasting', () => ({ opType: 'Sum', inputs: [x('a', [2, 3, 4]), x('b', [3, 4]), x('c', [1, 3, 1])] }), ['a', 'b', 'c'])
  grad('Sum of one input', () => ({ opType: 'Sum', inputs: [x('a', [2, 3])] }))
  grad('Pow exponent 2 (initializer)', () => ({ opType: 'Pow', inputs: [x('x', [2, 3, 4]), k('p', cf([], [2]))] }), ['x'])
  grad('Pow exponent 3 (initializer)', () => ({ opType: 'Pow', inputs: [x('x', [2, 3, 4]), k('p', cf([], [3]))] }))
  grad('Pow exponent 0.5, positive base', () => ({ opType: 'Pow', inputs: [x('x', [2, 3], magnitude([2, 3], 0.5, 1.5, false)), k('p', cf([], [0.5]))] }))
  grad('Pow exponent as a [1] tensor', () => ({ opType: 'Pow', inputs: [x('x', [2, 3]), k('p', cf([1], [2]))] }))
  refuses('Pow with a variable exponent', () => ({ opType: 'Pow', inputs: [x('x', [2, 3], magnitude([2, 3], 0.5, 1.5, false)), x('p', [])] }), /exponent/)
  grad('Sqrt of positive inputs', () => ({ opType: 'Sqrt', inputs: [x('x', [2, 3, 4], magnitude([2, 3, 4], 0.5, 1.5, false))] }))
})

describe('activations', () => {
  grad('Relu', () => ({ opType: 'Relu', inputs: [x('x', [2, 3, 4, 4])] }))
  grad('LeakyRelu default alpha', () => ({ opType: 'LeakyRelu', inputs: [x('x', [2, 3, 4])] }))
  grad('LeakyRelu alpha 0.2', () => ({ opType: 'LeakyRelu', attrs: { alpha: 0.2 }, inputs: [x('x', [2, 3, 4])] }))
  const six = (dims: number[]) => away(rand(dims, 8), [0, 6])
  grad('Clip min 0 / max 6 as inputs (ReLU6, opset 13)', () => ({
    opType: 'Clip',
    inputs: [x('x', [2, 3, 4, 4], six([2, 3, 4, 4])), k('min', cf([], [0])), k('max', cf([], [6]))]
  }), ['x'])
  grad('Clip with only min (opset 13)', () => ({ opType: 'Clip', inputs: [x('x', [2, 3, 4], away(rand([2, 3, 4]), [-0.3])), k('min', cf([], [-0.3]))] }))
  grad('Clip with only max (min omitted)', () => ({ opType: 'Clip', inputs: [x('x', [2, 3, 4], away(rand([2, 3, 4]), [0.4])), null, k('max', cf([], [0.4]))] }))
  grad('Clip with no bounds', () => ({ opType: 'Clip', inputs: [x('x', [2, 3])] }))
  grad('Sigmoid', () => ({ opType: 'Sigmoid', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  grad('Tanh', () => ({ opType: 'Tanh', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
  grad('HardSigmoid alpha 1/6 beta 0.5 (torch)', () => ({
    opType: 'HardSigmoid',
    attrs: { alpha: 1 / 6, beta: 0.5 },
    inputs: [x('x', [2, 3, 4, 4], away(rand([2, 3, 4, 4], 5), [-3, 3]))]
  }))
  grad('HardSigmoid defaults (alpha 0.2 beta 0.5)', () => ({ opType: 'HardSigmoid', inputs: [x('x', [2, 3, 4, 4], away(rand([2, 3, 4, 4], 4), [-2.5, 2.5]))] }))
  grad('HardSwish (opset 14)', () => ({ opType: 'HardSwish', opset: 14, inputs: [x('x', [2, 3, 4, 4], away(rand([2, 3, 4, 4], 5), [-3, 3]))] }))
  for (const op of ['Softmax', 'LogSoftmax']) {
    grad(`${op} axis 1 on [2,5]`, () => ({ opType: op, attrs: { axis: 1 }, inputs: [x('x', [2, 5], rand([2, 5], 2))] }))
    grad(`${op} axis 1 on [2,3,4]`, () => ({ opType: op, attrs: { axis: 1 }, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
    grad(`${op} axis -1 (default)`, () => ({ opType: op, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
    refuses(`${op} before opset 13`, () => ({ opType: op, opset: 11, attrs: { axis: 1 }, inputs: [x('x', [2, 5])] }), /opset 13/)
  }
  grad('Exp', () => ({ opType: 'Exp', inputs: [x('x', [2, 3, 4])] }))
})

describe('BatchNormalization', () => {
  const bn = (dims: number[], attrs: CheckSpec['attrs'] = {}, opset?: number): CheckSpec => {
    const c = dims[1]
    return {
      opType: 'BatchNormalization',
      attrs,
      ...(opset ? { opset } : {}),
      inputs: [x('x', dims), k('scale', cf([c])), k('bias', cf([c])), k('mean', cf([c])), k('var', cf([c], magnitude([c], 0.3, 2, false)))]
    }
  }
  grad('inference, constant statistics', () => bn([2, 3, 4, 4]), ['x'])
  grad('epsilon 1e-3', () => bn([2, 3, 4, 4], { epsilon: 1e-3 }))
  grad('epsilon 0.1 at opset 15', () => bn([2, 4, 3, 3], { epsilon: 0.1 }, 15))
  grad('2-D input (BatchNorm1d)', () => bn([2, 5], { epsilon: 1e-3 }))
  grad('scale and variance computed at run time (not constants)', () => ({
    opType: 'BatchNormalization',
    attrs: { epsilon: 0.01 },
    inputs: [
      x('x', [2, 3, 4, 4]),
      { name: 'scale', dims: [3], differentiate: false },
      k('bias', cf([3])),
      k('mean', cf([3])),
      { name: 'var', dims: [3], values: magnitude([3], 0.3, 2, false), differentiate: false }
    ]
  }), ['x'])
  // Scale/bias gradients, training_mode=1 and the refusals: test/unit/vjp-training-rules.test.ts.
})

describe('shape ops', () => {
  grad('Identity', () => ({ opType: 'Identity', inputs: [x('x', [2, 3, 4])] }))
  grad('Dropout (opset 13, no ratio input)', () => ({ opType: 'Dropout', inputs: [x('x', [2, 3, 4])] }))
  grad('Dropout with a ratio input (inference: identity)', () => ({ opType: 'Dropout', inputs: [x('x', [2, 3, 4]), k('ratio', cf([], [0.5]))] }), ['x'])
  refuses('Dropout in training mode', () => ({
    opType: 'Dropout',
    inputs: [x('x', [2, 3, 4]), k('ratio', cf([], [0.5])), k('training_mode', { dataType: DataType.BOOL, dims: [], data: Uint8Array.from([1]) })]
  }), /Dropout in training mode/)
  grad('Flatten axis 1', () => ({ opType: 'Flatten', attrs: { axis: 1 }, inputs: [x('x', [2, 3, 2, 2])] }))
  grad('Flatten axis 2', () => ({ opType: 'Flatten', attrs: { axis: 2 }, inputs: [x('x', [2, 3, 2, 2])] }))
  grad('Reshape with -1 and 0', () => ({ opType: 'Reshape', inputs: [x('x', [2, 3, 4]), k('shape', ci([0, -1, 2]))] }), ['x'])
  grad('Reshape [2,12] -> [-1]', () => ({ opType: 'Reshape', inputs: [x('x', [2, 12]), k('shape', ci([-1]))] }))
  grad('Squeeze axes input [2,3] (opset 13)', () => ({ opType: 'Squeeze', inputs: [x('x', [2, 3, 1, 1]), k('axes', ci([2, 3]))] }), ['x'])
  grad('Squeeze negative axes [-1]', () => ({ opType: 'Squeeze', inputs: [x('x', [2, 3, 1]), k('axes', ci([-1]))] }))
  grad('Squeeze axes attribute (opset 11)', () => ({ opType: 'Squeeze', opset: 11, attrs: { axes: [2, 3] }, inputs: [x('x', [2, 3, 1, 1])] }))
  grad('Unsqueeze axes input [-1, 2] (opset 13)', () => ({ opType: 'Unsqueeze', inputs: [x('x', [2, 3]), k('axes', ci([-1, 2]))] }), ['x'])
  grad('Transpose perm [0,2,3,1]', () => ({ opType: 'Transpose', attrs: { perm: [0, 2, 3, 1] }, inputs: [x('x', [2, 3, 4, 5])] }))
  grad('Transpose perm [0,2,1,3] (ShuffleNet)', () => ({ opType: 'Transpose', attrs: { perm: [0, 2, 1, 3] }, inputs: [x('x', [2, 2, 3, 4])] }))
  grad('Transpose default (reverse)', () => ({ opType: 'Transpose', inputs: [x('x', [2, 3, 4])] }))
  grad('Concat axis 1, three inputs of different sizes', () => ({
    opType: 'Concat',
    attrs: { axis: 1 },
    inputs: [x('a', [2, 2, 3, 3]), x('b', [2, 3, 3, 3]), x('c', [2, 1, 3, 3])]
  }), ['a', 'b', 'c'])
  grad('Concat negative axis -1', () => ({ opType: 'Concat', attrs: { axis: -1 }, inputs: [x('a', [2, 3, 2]), x('b', [2, 3, 4])] }))
  grad('Concat with a constant piece', () => ({ opType: 'Concat', attrs: { axis: 1 }, inputs: [k('a', cf([2, 2])), x('b', [2, 3])] }), ['b'])
  grad('Concat on axis 0 (sizes read at run time)', () => ({ opType: 'Concat', attrs: { axis: 0 }, inputs: [x('a', [2, 3]), x('b', [1, 3])] }), ['a', 'b'])
  grad('Split with split sizes input (opset 13)', () => ({
    opType: 'Split',
    attrs: { axis: 1 },
    inputs: [x('x', [2, 6, 3]), k('split', ci([2, 1, 3]))],
    outputs: 3
  }), ['x'])
  grad('Split equal parts on axis -1', () => ({ opType: 'Split', attrs: { axis: -1 }, inputs: [x('x', [2, 3, 4])], outputs: 2 }))
  grad('Split split attribute (opset 11)', () => ({ opType: 'Split', opset: 11, attrs: { axis: 1, split: [1, 3] }, inputs: [x('x', [2, 4])], outputs: 2 }))
  const slice = (dims: number[], starts: number[], ends: ConstTensor, axes?: number[], steps?: number[]): CheckSpec => ({
    opType: 'Slice',
    inputs: [x('x', dims), k('starts', ci(starts)), k('ends', ends), ...(axes ? [k('axes', ci(axes))] : []), ...(steps ? [k('steps', ci(steps))] : [])]
  })
  grad('Slice constant starts/ends/axes', () => slice([2, 5, 6], [1, 2], ci([4, 5]), [1, 2]), ['x'])
  grad('Slice negative indices', () => slice([2, 5, 6], [-3], ci([-1]), [-1]))
  grad('Slice ends past the end (INT64_MAX, torch)', () => slice([2, 5, 6], [2], INT64_MAX, [1]))
  grad('Slice ends past the end (100)', () => slice([2, 5, 6], [1], ci([100]), [2]))
  grad('Slice steps input of ones', () => slice([2, 5, 6], [1], ci([4]), [1], [1]))
  refuses('Slice with steps', () => slice([2, 5, 6], [0], ci([6]), [2], [2]), /Slice with steps other than 1/)
  refuses('Slice on the batch axis', () => slice([2, 5], [0], ci([1]), [0]), /Slice along the batch axis/)
  const pad = (dims: number[], pads: number[], attrs: CheckSpec['attrs'] = {}, value?: number): CheckSpec => ({
    opType: 'Pad',
    attrs,
    inputs: [x('x', dims), k('pads', ci(pads)), ...(value !== undefined ? [k('value', cf([], [value]))] : [])]
  })
  grad('Pad constant mode, pads input', () => pad([2, 3, 4, 4], [0, 0, 1, 2, 0, 0, 2, 1]), ['x'])
  grad('Pad with a constant value input', () => pad([2, 3, 4], [0, 1, 0, 0, 2, 1], {}, 0.5))
  grad('Pad with crops (negative pads)', () => pad([2, 3, 5], [0, 0, -1, 0, 1, 2]))
  refuses('Pad mode reflect', () => pad([2, 3, 4, 4], [0, 0, 1, 1, 0, 0, 1, 1], { mode: 'reflect' }), /Pad mode reflect/)
  refuses('Pad on the batch axis', () => pad([2, 3], [1, 0, 0, 0]), /Pad on the batch axis/)
})

describe('added rules', () => {
  /** b = a ± a margin > 2 eps, so no element of the pair is near a tie. */
  const apart = (a: Float32Array) => a.map((v, i) => v + (i % 2 ? 0.1 : -0.1) * (1 + (i % 3)))
  for (const op of ['Max', 'Min']) {
    grad(`${op} of two same-shape inputs`, () => {
      const a = rand([2, 3, 4])
      return { opType: op, inputs: [x('a', [2, 3, 4], a), x('b', [2, 3, 4], apart(a))] }
    }, ['a', 'b'])
    grad(`${op} with a broadcast [3,1] side`, () => {
      const b = Float32Array.from([-0.55, 0.05, 0.6])
      return { opType: op, inputs: [x('a', [2, 3, 4], away(rand([2, 3, 4]), [...b])), x('b', [3, 1], b)] }
    })
    grad(`${op} of three inputs`, () => {
      // On grids offset by 0.05 and 0.025: any two values differ by at least 0.025 > 2 * eps.
      const [a, b] = [distinct([2, 6], 0.1), distinct([2, 6], 0.1).map((v) => v + 0.05)]
      return { opType: op, inputs: [x('a', [2, 6], a), x('b', [2, 6], b), x('c', [6], Float32Array.from([0.025, -0.275, 0.425, 0.125, -0.175, 0.325]))] }
    })
    grad(`${op} with a constant bound (clamp as exported by some tools)`, () => ({
      opType: op,
      inputs: [x('a', [2, 5], away(rand([2, 5], 2), [0.5])), k('bound', cf([], [0.5]))]
    }), ['a'])
  }
  grad('PRelu with a per-channel slope [C,1,1] (x and slope)', () => ({
    opType: 'PRelu',
    inputs: [x('x', [2, 3, 4, 4]), wd('slope', [3, 1, 1])]
  }), ['x', 'slope'])
  grad('PRelu with a scalar-like slope [1] (constant)', () => ({ opType: 'PRelu', inputs: [x('x', [2, 3, 4]), k('slope', cf([1], [0.25]))] }), ['x'])
  grad('Softplus', () => ({ opType: 'Softplus', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  grad('Erf', () => ({ opType: 'Erf', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }))
  grad('Gelu approximate none (opset 20)', () => ({ opType: 'Gelu', opset: 20, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  grad('Gelu approximate tanh (opset 20)', () => ({ opType: 'Gelu', opset: 20, attrs: { approximate: 'tanh' }, inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }))
  grad('LayerNormalization axis -1 with scale and bias (opset 17)', () => ({
    opType: 'LayerNormalization',
    opset: 17,
    inputs: [x('x', [2, 3, 6], rand([2, 3, 6], 2)), wd('scale', [6]), wd('bias', [6])]
  }), ['x', 'scale', 'bias'])
  grad('LayerNormalization axis 1 over [C,H,W], epsilon 1e-3, constant scale', () => ({
    opType: 'LayerNormalization',
    opset: 17,
    attrs: { axis: 1, epsilon: 1e-3 },
    inputs: [x('x', [2, 2, 3, 3], rand([2, 2, 3, 3], 2)), k('scale', cf([2, 3, 3])), k('bias', cf([2, 3, 3]))]
  }), ['x'])
  refuses('LayerNormalization over the batch axis (axis 0)', () => ({
    opType: 'LayerNormalization',
    opset: 17,
    attrs: { axis: 0 },
    inputs: [x('x', [2, 3]), k('scale', cf([2, 3]))]
  }), /LayerNormalization over the batch axis/)
  refuses('LayerNormalization gradients through Mean / InvStdDev', () => ({
    opType: 'LayerNormalization',
    opset: 17,
    outputs: 3,
    inputs: [x('x', [2, 3, 6]), k('scale', cf([6]))]
  }), /Mean \/ InvStdDev/)
  grad('InstanceNormalization with scale and bias', () => ({
    opType: 'InstanceNormalization',
    attrs: { epsilon: 1e-3 },
    inputs: [x('x', [2, 3, 4, 4], rand([2, 3, 4, 4], 2)), wd('scale', [3]), wd('bias', [3])]
  }), ['x', 'scale', 'bias'])
  grad('Expand [1,1,4] to [2,3,4] (cls token)', () => ({ opType: 'Expand', inputs: [x('x', [1, 1, 4]), k('shape', ci([2, 3, 4]))] }), ['x'])
  grad('Expand [3,1] to [2,3,4] (new leading axis)', () => ({ opType: 'Expand', inputs: [x('x', [3, 1]), k('shape', ci([2, 1, 4]))] }))
  grad('Gather a scalar index on axis 1 (ViT cls pooling)', () => ({ opType: 'Gather', attrs: { axis: 1 }, inputs: [x('x', [2, 5, 4]), k('i', ci([0], []))] }), ['x'])
  grad('Gather repeated and negative indices on axis -1', () => ({ opType: 'Gather', attrs: { axis: -1 }, inputs: [x('x', [2, 3, 5]), k('i', ci([4, -1, 0, 2], [2, 2]))] }))
  refuses('Gather on the batch axis', () => ({ opType: 'Gather', inputs: [x('x', [2, 3]), k('i', ci([1]))] }), /Gather along the batch axis/)
  const resize = (dims: number[], attrs: CheckSpec['attrs'], scales: number[] | null, sizes?: number[]): CheckSpec => ({
    opType: 'Resize',
    attrs,
    inputs: [x('x', dims), k('roi', cf([0], [])), scales ? k('scales', cf([scales.length], scales)) : k('scales', cf([0], [])), ...(sizes ? [k('sizes', ci(sizes))] : [])]
  })
  grad('Resize nearest x2, asymmetric floor (torch nearest)', () => resize([2, 3, 3, 4], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [1, 1, 2, 2]), ['x'])
  grad('Resize nearest x2, defaults (half_pixel, round_prefer_floor)', () => resize([2, 2, 3, 3], { mode: 'nearest' }, [1, 1, 2, 2]))
  grad('Resize nearest x1.5 round_prefer_ceil, sizes input', () => resize([2, 2, 4, 4], { mode: 'nearest', nearest_mode: 'round_prefer_ceil' }, null, [2, 2, 6, 6]))
  grad('Resize nearest x3 on W only', () => resize([2, 2, 3, 3], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [1, 1, 1, 3]))
  grad('Resize nearest downsample x0.5', () => resize([2, 2, 6, 6], { mode: 'nearest' }, [1, 1, 0.5, 0.5]))
  grad('Resize linear x2 half_pixel (bilinear, align_corners=False)', () => resize([2, 3, 3, 4], { mode: 'linear' }, [1, 1, 2, 2]))
  grad('Resize linear x2 pytorch_half_pixel', () => resize([2, 2, 4, 3], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, [1, 1, 2, 2]))
  grad('Resize linear align_corners via sizes', () => resize([2, 2, 3, 4], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, null, [2, 2, 7, 9]))
  grad('Resize linear x1.5 asymmetric', () => resize([2, 2, 4, 4], { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }, [1, 1, 1.5, 1.5]))
  grad('Resize linear downsample x0.5 (no antialias)', () => resize([2, 2, 6, 6], { mode: 'linear' }, [1, 1, 0.5, 0.5]))
  grad('Resize linear half_pixel_symmetric x2.5 (opset 19)', () => ({ ...resize([2, 2, 3, 3], { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, [1, 1, 2.5, 2.5]), opset: 19 }))
  grad('Resize linear 1-D [N,C,L] x2', () => resize([2, 3, 5], { mode: 'linear' }, [1, 1, 2]))
  grad('Resize nearest tf_half_pixel_for_nn x2', () => resize([2, 2, 3, 3], { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, [1, 1, 2, 2]))
  grad('Resize sizes only, roi and scales omitted (torch interpolate(size=...))', () => ({
    opType: 'Resize',
    attrs: { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
    inputs: [x('x', [2, 2, 3, 4]), null, null, k('sizes', ci([2, 2, 6, 7]))]
  }), ['x'])
  grad('Resize with run-time scales (ratio taken from the shapes)', () => ({
    opType: 'Resize',
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
    inputs: [x('x', [2, 2, 3, 3]), null, { name: 'scales', dims: [4], values: Float32Array.from([1, 1, 2, 2]), differentiate: false }]
  }), ['x'])
  refuses('Resize cubic', () => resize([2, 2, 3, 3], { mode: 'cubic' }, [1, 1, 2, 2]), /Resize mode cubic/)
  refuses('Resize of the channel axis', () => resize([2, 2, 3, 3], { mode: 'nearest' }, [1, 2, 1, 1]), /Resize of axes other than/)
  refuses('Resize antialias (opset 18)', () => ({ ...resize([2, 2, 6, 6], { mode: 'linear', antialias: 1 }, [1, 1, 0.5, 0.5]), opset: 18 }), /antialias/)
})

describe('ops that backward graphs emit (differentiated again in second order)', () => {
  const bool = (values: number[], dims: number[]): ConstTensor => ({ dataType: DataType.BOOL, dims, data: Uint8Array.from(values) })
  const mask = (dims: number[]) => bool(Array.from({ length: size(dims) }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), dims)
  grad('Reciprocal (divisors in ±[0.75, 1.5])', () => ({ opType: 'Reciprocal', inputs: [x('x', [2, 3, 4], magnitude([2, 3, 4], 0.75, 1.5))] }))
  grad('Where same shapes (no gradient to the condition)', () => ({ opType: 'Where', inputs: [k('c', mask([2, 3, 4])), x('a', [2, 3, 4]), x('b', [2, 3, 4])] }), ['a', 'b'])
  grad('Where with a broadcast [3,1] condition and a [4] right side', () => ({ opType: 'Where', inputs: [k('c', mask([3, 1])), x('a', [2, 3, 4]), x('b', [4])] }), ['a', 'b'])
  grad('Where with a scalar zero (as Relu\'s gradient emits it)', () => ({ opType: 'Where', inputs: [k('c', mask([2, 5])), x('a', [2, 5]), k('z', cf([], [0]))] }), ['a'])
  // Indices along the last axis: a permutation prefix per row, so no two updates hit one element.
  const perm = (rows: number, n: number, take: number) => Array.from({ length: rows }, (_, r) => Array.from({ length: take }, (_, j) => (r + 3 * j) % n)).flat()
  grad('ScatterElements reduction none, axis -1', () => ({
    opType: 'ScatterElements',
    attrs: { axis: -1 },
    inputs: [x('data', [2, 3, 5]), k('idx', ci(perm(6, 5, 2), [2, 3, 2])), x('updates', [2, 3, 2])]
  }), ['data', 'updates'])
  grad('ScatterElements reduction none, axis 1, negative indices', () => ({
    opType: 'ScatterElements',
    attrs: { axis: 1 },
    inputs: [x('data', [2, 4, 3]), k('idx', ci([0, -1, 2, 1, -4, 3], [2, 1, 3])), x('updates', [2, 1, 3])]
  }))
  grad('ScatterElements reduction add with repeated indices (opset 16, MaxPool overlap)', () => ({
    opType: 'ScatterElements',
    opset: 16,
    attrs: { axis: 0, reduction: 'add' },
    inputs: [x('data', [6]), k('idx', ci([1, 4, 1, 0, 4, 4, 2])), x('updates', [7])]
  }), ['data', 'updates'])
  refuses('ScatterElements reduction mul (opset 18)', () => ({
    opType: 'ScatterElements',
    opset: 18,
    attrs: { axis: 0, reduction: 'mul' },
    inputs: [x('data', [4]), k('idx', ci([1, 2])), x('updates', [2])]
  }), /ScatterElements with reduction mul/)
  grad('GatherElements axis -1 with repeated and negative indices', () => ({
    opType: 'GatherElements',
    attrs: { axis: -1 },
    inputs: [x('data', [2, 3, 4]), k('idx', ci([0, 3, 3, -1, 1, 2, 0, 0, -4, 2, 1, 1, 3, 0, 2, 2, 1, -2], [2, 3, 3]))]
  }), ['data'])
  grad('GatherElements axis 0 (the batch axis: indices pick samples)', () => ({
    opType: 'GatherElements',
    inputs: [x('data', [2, 3]), k('idx', ci([1, 0, 1, 1, 1, 0], [2, 3]))]
  }))
})

describe('MaxUnpool', () => {
  grad('2x2 windows with MaxPool-style flat indices', () => ({
    opType: 'MaxUnpool',
    opset: 11,
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    inputs: [x('x', [2, 2, 2, 2]), k('idx', ci([0, 3, 9, 14, 17, 22, 24, 31, 32, 34, 42, 47, 49, 51, 57, 62], [2, 2, 2, 2])), k('shape', ci([2, 2, 4, 4]))]
  }), ['x'])
})

describe('coverage', () => {
  it('every op in RULES has a row in docs/vjp-coverage.md', () => {
    const doc = readFileSync(join(__dirname, '../../docs/vjp-coverage.md'), 'utf8')
    const missing = Object.keys(RULES).filter((op) => !new RegExp(`^\\| ${op} \\|`, 'm').test(doc))
    expect(missing).toEqual([])
  })
  it('every op in RULES is exercised by this file', () => {
    const source = readFileSync(__filename, 'utf8')
    const missing = Object.keys(RULES).filter((op) => !source.includes(`'${op}'`))
    expect(missing).toEqual([])
  })
})
