import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { buildBackward } from '../../src/main/engine/autodiff/walker'
import { DECONVNET_RULES, GUIDED_BACKPROP_RULES } from '../../src/main/engine/autodiff/rules/guided'
import type { VjpRule } from '../../src/main/engine/autodiff/types'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { encodeAttributes, GraphBuilder, valueInfo } from '../../src/main/engine/onnx/builder'
import { inferElemTypes } from '../../src/main/engine/onnx/elem-types'
import { GraphIndex } from '../../src/main/engine/onnx/ir'

/**
 * Guided Backprop's and Deconvnet's Relu rules, each alone, through the walker's `overrides`: a chain
 * x -> Relu -> LeakyRelu -> y with a seed dY of both signs, the backward graph run in onnxruntime and
 * compared element by element with the published definitions. LeakyRelu is there to show the override
 * touches Relu only (Captum hooks nn.ReLU only).
 */
const X = [-2, -1, -0.5, 0.5, 1, 2, -3, 3]
const SEED = [1, -1, 2, -2, 0.5, -0.5, 3, -3]
const ALPHA = 0.25

async function backward(overrides?: Record<string, VjpRule>): Promise<number[]> {
  const dims = [1, X.length]
  const float = onnx.TensorProto.DataType.FLOAT
  const model = onnx.ModelProto.decode(
    onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: {
          name: 'chain',
          node: [
            onnx.NodeProto.create({ name: 'relu', opType: 'Relu', input: ['x'], output: ['h'] }),
            onnx.NodeProto.create({ name: 'leaky', opType: 'LeakyRelu', input: ['h'], output: ['y'], attribute: encodeAttributes({ alpha: ALPHA }) })
          ],
          input: [valueInfo('x', float, dims)],
          output: [valueInfo('y', float, dims)]
        }
      })
    ).finish()
  )
  const b = new GraphBuilder(model)
  b.addInput('seed', float, dims)
  const shapes = new Map(['x', 'h', 'y'].map((t) => [t, dims]))
  const index = new GraphIndex(model)
  const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt: ['x'], seeds: new Map([['y', 'seed']]), overrides })
  b.setOutputs([grads.get('x')!])
  const session = await OrtSession.create(b.encode(), 'guided check', { intraOpThreads: 1 })
  try {
    const out = await session.run({ x: floatTensor(Float32Array.from(X), dims), seed: floatTensor(Float32Array.from(SEED), dims) })
    return Array.from(out[grads.get('x')!].data as Float32Array)
  } finally {
    await session.release()
  }
}

// The gradient reaching the Relu's output: LeakyRelu's true rule (h = relu(x) >= 0, so slope 1 where x > 0, alpha elsewhere).
const dH = X.map((x, i) => (Math.max(x, 0) > 0 ? SEED[i] : ALPHA * SEED[i]))

describe('the Relu overrides of Guided Backprop and Deconvnet', () => {
  it('without overrides the walker keeps the true Relu gradient dY * (X > 0)', async () => {
    expect(await backward()).toEqual(X.map((x, i) => Math.fround(x > 0 ? dH[i] : 0)))
  })

  it('Guided Backprop: dX = dY * (X > 0) * (dY > 0)', async () => {
    const want = X.map((x, i) => Math.fround(x > 0 && dH[i] > 0 ? dH[i] : 0))
    expect(await backward(GUIDED_BACKPROP_RULES)).toEqual(want)
    // Differs from the true gradient here: negative gradients at positive inputs are cut.
    expect(want).not.toEqual(X.map((x, i) => Math.fround(x > 0 ? dH[i] : 0)))
  })

  it('Deconvnet: dX = relu(dY), whatever the forward input', async () => {
    const want = X.map((_, i) => Math.fround(Math.max(dH[i], 0)))
    expect(await backward(DECONVNET_RULES)).toEqual(want)
    // Gradient flows through inputs the forward Relu zeroed (x < 0).
    expect(want.some((v, i) => v > 0 && X[i] < 0)).toBe(true)
  })

  it('an override lasts one pass: the next pass without it has the true gradient again', async () => {
    await backward(GUIDED_BACKPROP_RULES)
    expect(await backward()).toEqual(X.map((x, i) => Math.fround(x > 0 ? dH[i] : 0)))
  })
})
