import { describe } from 'vitest'
import { randomValues, rng, type CheckInput, type CheckSpec } from '../oracles/vjp-check'
import { grad, k, refuses, x } from '../vjp-helpers'
import { f32, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'

/**
 * Weight gradients where weights train (few-shot / MAML fine-tuning): ConvTranspose's weights and bias,
 * BatchNormalization's scale and bias in inference mode, and the full backward of BatchNormalization
 * with training_mode=1 (batch statistics). Same method and bound as vjp-rules.test.ts: checkVjp against
 * central differences at every coordinate, TOL 1e-3. Cases with `probeBatch` build the backward graph
 * from shapes probed at batch 2 and run it at the inputs' own batch, as the engine does.
 */

const r = rng(20250301)
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)
const rand = (dims: number[], scale = 1) => randomValues(size(dims), r).map((v) => v * scale)
const positive = (dims: number[], lo: number, hi: number) => randomValues(size(dims), r, 0).map((v) => lo + Math.abs(v) * (hi - lo))
const cf = (dims: number[], data: ArrayLike<number> = rand(dims)): ConstTensor => f32(data, dims)

/** A batched activation: axis 0 is dynamic when the spec sets probeBatch. */
const xb = (name: string, dims: number[], values?: Float32Array): CheckInput => ({ ...x(name, dims, values), batched: true })
const wd = (name: string, dims: number[], data?: ArrayLike<number>): CheckInput => ({ name, dims, constant: cf(dims, data), differentiate: true })




describe('ConvTranspose weight and bias gradients', () => {
  /** W is [C_in, C_out / group, k...]; the bias has C_out entries. */
  const convT = (xDims: number[], wDims: number[], attrs: CheckSpec['attrs'], bias = true, diffX = true): CheckSpec => {
    const group = Number((attrs ?? {}).group) || 1
    return {
      opType: 'ConvTranspose',
      attrs,
      inputs: [diffX ? x('x', xDims) : k('x', cf(xDims)), wd('w', wDims), ...(bias ? [wd('b', [wDims[1] * group])] : [])]
    }
  }
  grad('k3 s1 p1 (x, w, b)', () => convT([2, 4, 5, 5], [4, 3, 3, 3], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), ['x', 'w', 'b'])
  grad('k3 s2 p1 output_padding 1 (x, w, b)', () => convT([2, 4, 4, 4], [4, 3, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), ['x', 'w', 'b'])
  grad('k3 s2 no pads output_padding [1, 0], non-square', () => convT([2, 3, 3, 4], [3, 2, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], output_padding: [1, 0] }))
  grad('k4 s2 p1 (DCGAN upsampler)', () => convT([2, 3, 4, 4], [3, 2, 4, 4], { kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] }))
  grad('k2 s2 no pads, weights only (x constant)', () => convT([2, 3, 3, 3], [3, 4, 2, 2], { kernel_shape: [2, 2], strides: [2, 2] }, true, false), ['w', 'b'])
  grad('dilation 2, stride 2, asymmetric pads', () => convT([2, 2, 4, 4], [2, 3, 3, 3], { kernel_shape: [3, 3], dilations: [2, 2], strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 1] }))
  grad('group 2 with dilation 2', () => convT([2, 4, 4, 4], [4, 2, 3, 3], { kernel_shape: [3, 3], group: 2, dilations: [2, 2] }))
  grad('depthwise (group = channels), s2 p1 output_padding 1', () => convT([2, 3, 4, 4], [3, 1, 3, 3], { kernel_shape: [3, 3], group: 3, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }))
  grad('1-D k3 s2 p1 output_padding 1', () => convT([2, 3, 5], [3, 2, 3], { kernel_shape: [3], strides: [2], pads: [1, 1], output_padding: [1] }))
  grad('built at batch 2, run at batch 5', () => ({
    ...convT([5, 3, 4, 4], [3, 2, 3, 3], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }),
    inputs: [xb('x', [5, 3, 4, 4]), wd('w', [3, 2, 3, 3]), wd('b', [2])],
    probeBatch: 2
  }), ['x', 'w', 'b'])
})

describe('BatchNormalization (inference mode) scale and bias gradients', () => {
  const bn = (dims: number[], diff: { x?: boolean; scale?: boolean; bias?: boolean }, attrs: CheckSpec['attrs'] = {}): CheckSpec => {
    const c = dims[1]
    const param = (name: string, on?: boolean) => (on ? wd(name, [c]) : k(name, cf([c])))
    return {
      opType: 'BatchNormalization',
      attrs,
      inputs: [diff.x ? x('x', dims) : k('x', cf(dims)), param('scale', diff.scale), param('bias', diff.bias), k('mean', cf([c])), k('var', cf([c], positive([c], 0.3, 2)))]
    }
  }
  grad('x, scale and bias, rank 4', () => bn([2, 3, 4, 4], { x: true, scale: true, bias: true }), ['x', 'scale', 'bias'])
  grad('scale and bias only, epsilon 1e-3', () => bn([2, 3, 4, 4], { scale: true, bias: true }, { epsilon: 1e-3 }), ['scale', 'bias'])
  grad('rank 2 (BatchNorm1d), x and scale', () => bn([2, 5], { x: true, scale: true }), ['x', 'scale'])
  grad('scale and bias at batch 5, built at batch 2', () => ({
    ...bn([5, 3, 2, 2], { scale: true, bias: true }),
    inputs: [xb('x', [5, 3, 2, 2]), wd('scale', [3]), wd('bias', [3]), k('mean', cf([3])), k('var', cf([3], positive([3], 0.3, 2)))],
    probeBatch: 2
  }), ['x', 'scale', 'bias'])
  grad('variance computed at run time', () => ({
    opType: 'BatchNormalization',
    attrs: { epsilon: 0.01 },
    inputs: [x('x', [2, 3, 4]), wd('scale', [3]), wd('bias', [3]), k('mean', cf([3])), { name: 'var', dims: [3], values: positive([3], 0.3, 2), differentiate: false }]
  }), ['x', 'scale', 'bias'])
  refuses('running mean / var gradients', () => ({
    opType: 'BatchNormalization',
    inputs: [x('x', [2, 3, 4, 4]), k('scale', cf([3])), k('bias', cf([3])), wd('mean', [3]), k('var', cf([3], [1, 2, 3]))]
  }), /BatchNormalization running mean \/ var/)
})

describe('BatchNormalization training_mode=1 (batch statistics)', () => {
  /**
   * x spread over ±2 so the batch variance is well away from zero. The node names its three outputs
   * (onnxruntime requires them in training mode) but only y is a graph output and seeded.
   */
  const bnTrain = (dims: number[], opts: { opset?: number; epsilon?: number; probeBatch?: number; seedAll?: boolean } = {}): CheckSpec => {
    const c = dims[1]
    return {
      opType: 'BatchNormalization',
      opset: opts.opset ?? 15,
      attrs: { training_mode: 1, ...(opts.epsilon !== undefined ? { epsilon: opts.epsilon } : {}) },
      inputs: [xb('x', dims, rand(dims, 2)), wd('scale', [c]), wd('bias', [c]), k('mean', cf([c])), k('var', cf([c], positive([c], 0.3, 2)))],
      outputs: 3,
      seeded: opts.seedAll ? 3 : 1,
      ...(opts.probeBatch ? { probeBatch: opts.probeBatch } : {})
    }
  }
  grad('rank 4 at batch 2 (x, scale, bias)', () => bnTrain([2, 3, 3, 3]), ['x', 'scale', 'bias'])
  grad('rank 4 at batch 5', () => bnTrain([5, 2, 2, 3]))
  // Two samples per channel leave xhat = ±sqrt(var / (var + eps)): a large epsilon keeps dX away from zero.
  grad('rank 2 [N, C] at batch 2, epsilon 0.5', () => bnTrain([2, 4], { epsilon: 0.5 }))
  grad('rank 2 [N, C] at batch 5', () => bnTrain([5, 4]))
  grad('rank 4 built at batch 2, run at batch 5 (run-time count)', () => bnTrain([5, 2, 3, 3], { probeBatch: 2 }))
  grad('rank 2 built at batch 2, run at batch 5 (run-time count)', () => bnTrain([5, 3], { probeBatch: 2 }))
  grad('opset 14, epsilon 1e-3', () => bnTrain([3, 2, 2, 2], { opset: 14, epsilon: 1e-3 }))
  refuses('gradients through the running mean / var outputs', () => bnTrain([2, 3, 2, 2], { seedAll: true }), /running mean \/ var outputs of BatchNormalization/)
  refuses('training before opset 14 (statistics outputs)', () => ({
    opType: 'BatchNormalization',
    opset: 9,
    outputs: 5,
    inputs: [x('x', [2, 3, 2, 2]), k('scale', cf([3])), k('bias', cf([3])), k('mean', cf([3])), k('var', cf([3], [1, 2, 3]))]
  }), /BatchNormalization in training mode before opset 14/)
})
