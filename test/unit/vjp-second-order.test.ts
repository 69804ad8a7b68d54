import { describe, expect, it } from 'vitest'
import { checkSecondOrder, randomValues, rng, type CheckInput, type CheckSpec } from '../oracles/vjp-check'
import { f32, i64, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'
import { distinctValues, k, x } from '../vjp-helpers'
import { maxOf } from '../../src/shared/stats'

/**
 * Second order (MAML differentiates its inner-loop gradients): checkSecondOrder takes the backward
 * graph of a one-node model, h = <S, VJP(inputs; R)>, differentiates h again with our own rules over the
 * backward model (with respect to the forward's differentiated inputs and the seed R) and compares with
 * central differences of h, step 1e-2, in float32. Bound: max|a - n| / max(1, max|n|) < 2e-3. Inputs are
 * kept away from kinks (Relu's 0, pooling ties); an input that h does not reach through differentiable
 * ops (dX of a linear op does not depend on x) gets an exact zero that the differences must confirm.
 */

const r = rng(424242)
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)
const rand = (dims: number[], scale = 1) => randomValues(size(dims), r).map((v) => v * scale)
const magnitude = (dims: number[], lo: number, hi: number) =>
  randomValues(size(dims), r, 0).map((v) => (v < 0 ? -1 : 1) * (lo + Math.abs(v) * (hi - lo)))
const cf = (dims: number[], data: ArrayLike<number> = rand(dims)): ConstTensor => f32(data, dims)

const wd = (name: string, dims: number[], data?: ArrayLike<number>): CheckInput => ({ name, dims, constant: cf(dims, data), differentiate: true })

const distinct = (dims: number[], step = 0.05) => distinctValues(dims, r, step)

const TOL = 2e-3

/**
 * Every input's second-order gradient matches the differences; `nonzero` names the inputs whose
 * gradient must not vanish (a rule emitting zeros would pass against a zero difference).
 */
async function expectSecondOrder(spec: CheckSpec, nonzero: string[]): Promise<void> {
  const results = await checkSecondOrder({ samples: 1024, ...spec })
  expect(results.length).toBeGreaterThan(0)
  for (const res of results) {
    const show = (v: number[]) => v.slice(0, 8).map((n) => n.toFixed(4)).join(' ')
    const detail = `${spec.opType} d2/d${res.input}: rel ${res.relError.toExponential(2)}\n analytic ${show(res.analytic)}\n numeric  ${show(res.numeric)}`
    expect(res.relError, detail).toBeLessThan(TOL)
  }
  for (const name of nonzero) {
    const res = results.find((q) => q.input === name)
    expect(res, `no result for ${name}`).toBeDefined()
    expect(maxOf(res!.numeric.map(Math.abs)), `${spec.opType} d2/d${name}: no gradient at all`).toBeGreaterThan(1e-3)
  }
}

const second = (title: string, spec: () => CheckSpec, nonzero: string[]) => it(title, () => expectSecondOrder(spec(), nonzero))
const R = 'seed_y0'

describe('second order through the VJP rules', () => {
  // Conv: dX = ConvTranspose(R, W) (so d/dW runs ConvTranspose's weight rule), dW = Conv(Xᵀ, Rᵀ) (so d/dX
  // runs Conv's input rule on the emitted conv, d/dR its weight rule).
  second('Conv k3 s2 p1 with bias, S on dX (x, w, b)', () => ({
    opType: 'Conv',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x('x', [2, 3, 6, 6]), wd('w', [4, 3, 3, 3]), wd('b', [4])]
  }), ['w', R])
  second('Conv k3 s2 p1 with bias, S on every gradient', () => ({
    opType: 'Conv',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x('x', [2, 3, 7, 7]), wd('w', [4, 3, 3, 3]), wd('b', [4])],
    outer: 'all'
  }), ['x', 'w', R])
  second('Conv group 2, dilation 2, S on every gradient', () => ({
    opType: 'Conv',
    attrs: { kernel_shape: [3, 3], group: 2, dilations: [2, 2], pads: [2, 2, 2, 2] },
    inputs: [x('x', [2, 4, 6, 6]), wd('w', [4, 2, 3, 3])],
    outer: 'all'
  }), ['x', 'w', R])
  second('ConvTranspose k3 s2 p1 output_padding 1, S on every gradient', () => ({
    opType: 'ConvTranspose',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
    inputs: [x('x', [2, 3, 4, 4]), wd('w', [3, 2, 3, 3]), wd('b', [2])],
    outer: 'all'
  }), ['x', 'w', R])
  second('Gemm transB with C, S on every gradient', () => ({
    opType: 'Gemm',
    attrs: { transB: 1 },
    inputs: [x('a', [2, 5]), wd('b', [3, 5]), wd('c', [3])],
    outer: 'all'
  }), ['a', 'b', R])
  second('Gemm, S on dA only (depends on B and R)', () => ({ opType: 'Gemm', inputs: [x('a', [2, 4]), wd('b', [4, 3])] }), ['b', R])
  second('MatMul batched, S on every gradient', () => ({ opType: 'MatMul', inputs: [x('a', [2, 3, 4]), wd('b', [4, 2])], outer: 'all' }), ['a', 'b', R])
  second('MaxPool k2 s2 (d/dR: ScatterElements -> GatherElements)', () => ({
    opType: 'MaxPool',
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    inputs: [x('x', [2, 2, 4, 4], distinct([2, 2, 4, 4]))]
  }), [R])
  second('MaxPool k3 s2 p1 (overlapping: scatter-add)', () => ({
    opType: 'MaxPool',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x('x', [2, 2, 5, 5], distinct([2, 2, 5, 5]))]
  }), [R])
  // Random inputs are at least 0.05 from Relu's kink, five times the step.
  second('Relu (d/dR through Where)', () => ({ opType: 'Relu', inputs: [x('x', [2, 3, 4])] }), [R])
  second('Clip (ReLU6, Where of And)', () => ({
    opType: 'Clip',
    inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 8).map((v) => (Math.abs(v - 6) < 0.05 ? 6.1 : v))), k('min', cf([], [0])), k('max', cf([], [6]))]
  }), [R])
  second('BatchNormalization training_mode=1, rank 4, S on every gradient', () => ({
    opType: 'BatchNormalization',
    opset: 15,
    attrs: { training_mode: 1 },
    outputs: 3,
    seeded: 1,
    inputs: [x('x', [3, 2, 2, 2], rand([3, 2, 2, 2], 2)), wd('scale', [2]), wd('bias', [2]), k('mean', cf([2])), k('var', cf([2], [0.5, 1.5]))],
    outer: 'all'
  }), ['x', 'scale', R])
  second('BatchNormalization training_mode=1, rank 2 [5, 3], S on dX', () => ({
    opType: 'BatchNormalization',
    opset: 15,
    attrs: { training_mode: 1 },
    outputs: 3,
    seeded: 1,
    inputs: [x('x', [5, 3], rand([5, 3], 2)), wd('scale', [3]), k('bias', cf([3])), k('mean', cf([3])), k('var', cf([3], [0.5, 1, 1.5]))]
  }), ['x', 'scale', R])
  second('BatchNormalization inference, scale and bias, S on every gradient', () => ({
    opType: 'BatchNormalization',
    inputs: [x('x', [2, 3, 2, 2]), wd('scale', [3]), wd('bias', [3]), k('mean', cf([3])), k('var', cf([3], [0.5, 1, 1.5]))],
    outer: 'all'
  }), ['x', 'scale', R])
  second('LayerNormalization axis -1 (opset 17), S on every gradient', () => ({
    opType: 'LayerNormalization',
    opset: 17,
    inputs: [x('x', [2, 3, 5], rand([2, 3, 5], 2)), wd('scale', [5]), wd('bias', [5])],
    outer: 'all'
  }), ['x', 'scale', R])
  for (const op of ['LogSoftmax', 'Softmax']) {
    second(`${op} axis 1`, () => ({ opType: op, attrs: { axis: 1 }, inputs: [x('x', [2, 5], rand([2, 5], 2))] }), ['x', R])
  }
  second('Sigmoid', () => ({ opType: 'Sigmoid', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 3))] }), ['x', R])
  second('Tanh', () => ({ opType: 'Tanh', inputs: [x('x', [2, 3, 4], rand([2, 3, 4], 2))] }), ['x', R])
  second('Mul with a broadcast [3,1] side, S on every gradient', () => ({ opType: 'Mul', inputs: [x('a', [2, 3, 4]), x('b', [3, 1])], outer: 'all' }), ['a', 'b', R])
  second('Mul, S on dA (depends on B only)', () => ({ opType: 'Mul', inputs: [x('a', [2, 3]), x('b', [2, 3])] }), ['b', R])
  // Divisors in ±[0.75, 1.5], as in the first-order tests: nearer zero 1/b^3 curves too much for the step.
  second('Div, S on every gradient', () => ({ opType: 'Div', inputs: [x('a', [2, 3, 4]), x('b', [2, 3, 4], magnitude([2, 3, 4], 0.75, 1.5))], outer: 'all' }), ['a', 'b', R])
  second('Reciprocal', () => ({ opType: 'Reciprocal', inputs: [x('x', [2, 3], magnitude([2, 3], 0.75, 1.5))] }), ['x', R])
  second('ReduceMean axes [2,3] keepdims 0 (linear: d/dR only)', () => ({ opType: 'ReduceMean', attrs: { axes: [2, 3], keepdims: 0 }, inputs: [x('x', [2, 3, 3, 3])] }), [R])
  second('ReduceMean over the batch axis', () => ({ opType: 'ReduceMean', attrs: { axes: [0], keepdims: 0 }, inputs: [x('x', [3, 4])] }), [R])
  second('GlobalAveragePool', () => ({ opType: 'GlobalAveragePool', inputs: [x('x', [2, 3, 3, 3])] }), [R])
  second('AveragePool k3 s2 p1 (ConvTranspose with constant ones)', () => ({
    opType: 'AveragePool',
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [x('x', [2, 2, 5, 5])]
  }), [R])
  second('Flatten', () => ({ opType: 'Flatten', inputs: [x('x', [2, 3, 2, 2])] }), [R])
  second('Reshape [0, -1]', () => ({ opType: 'Reshape', inputs: [x('x', [2, 3, 4]), k('shape', i64([0, -1], [2]))] }), [R])
  second('Split into two (unused piece: zeros)', () => ({ opType: 'Split', attrs: { axis: 1 }, inputs: [x('x', [2, 4])], outputs: 2, seeded: 1 }), [R])
})
