import { readFileSync } from 'node:fs'
import { onnx } from 'onnx-proto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomValues, rng } from '../oracles/vjp-check'
import { buildBackward } from '../../src/main/engine/autodiff/walker'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { probeAll } from '../../src/main/engine/exec/probe'
import { tfjsBackend, type TfjsBackend } from '../oracles/tfjs/backend'
import { TfjsExecutor } from '../oracles/tfjs/executor'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { inferElemTypes } from '../../src/main/engine/onnx/elem-types'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { DataType } from '../../src/main/engine/onnx/tensor-data'
import { maxOf } from '../../src/shared/stats'
import { fixture, rejection } from '../helpers'

/**
 * The tfjs executor on the committed fixture classifiers: its forward pass equals onnxruntime's, and
 * tf.grad through it equals the backward graph our autodiff emits for a whole network (input gradients
 * and the Grad-CAM layer's gradients). Plus its refusals: unknown ops, and the pure-JS backend's limits.
 */

const TOL = 1e-4
const r = rng(7)
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)

let backend: TfjsBackend
beforeAll(async () => {
  backend = await tfjsBackend()
})

function load(name: string): { bytes: Uint8Array; model: onnx.ModelProto; index: GraphIndex } {
  const bytes = readFileSync(fixture('models', `${name}.onnx`))
  const model = onnx.ModelProto.decode(bytes)
  return { bytes, model, index: new GraphIndex(model) }
}

/** Max |a - b| over max(1, max |b|): logits and gradients of these nets are O(1). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let diff = 0
  let maxRef = 0
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]))
    maxRef = Math.max(maxRef, Math.abs(b[i]))
  }
  return diff / Math.max(1, maxRef)
}

// Small nets at their own input size; mini_vgg_bn (224x224) at batch 1 to keep the pure-JS backend quick.
const MODELS: [string, number[]][] = [
  ['tiny_cnn', [2, 3, 32, 32]],
  ['mini_resnet', [2, 3, 64, 64]],
  ['mini_resnet_bn', [2, 3, 64, 64]],
  ['mini_densenet', [2, 3, 64, 64]],
  ['mini_mobilenet_v2', [2, 3, 64, 64]],
  ['mini_mobilenet_v3', [2, 3, 64, 64]],
  ['mini_efficientnet', [2, 3, 64, 64]],
  ['mini_vgg_bn', [1, 3, 224, 224]]
]

describe('forward pass equals onnxruntime on the fixture models', () => {
  for (const [name, dims] of MODELS) {
    it(name, async () => {
      const { bytes, model, index } = load(name)
      const data = randomValues(size(dims), r)
      const session = await OrtSession.create(bytes, name)
      const ref = await session.run({ [index.inputNames[0]]: floatTensor(data, dims) })
      await session.release()
      const exec = await TfjsExecutor.create(model, { backend, label: name })
      try {
        const out = exec.run({ [index.inputNames[0]]: { data, dims } })
        for (const o of index.outputNames) {
          expect(out[o].dims).toEqual([...ref[o].dims])
          expect(relDiff(out[o].data, ref[o].data as Float32Array), `${name} ${o}`).toBeLessThan(TOL)
        }
      } finally {
        exec.dispose()
      }
    })
  }
})

/** The tensor Grad-CAM differentiates by default: the input of the global pooling. */
function camLayer(index: GraphIndex): string {
  const pool = index.nodes.find((n) => n.opType === 'GlobalAveragePool')
  if (!pool) throw new Error('no GlobalAveragePool')
  return pool.inputs[0]
}

describe('tf.grad through the executor equals the ORT backward graph of a whole network', () => {
  for (const name of ['tiny_cnn', 'mini_resnet_bn', 'mini_mobilenet_v2', 'mini_densenet']) {
    it(`${name}: d(seed . logits) / d(input) and / d(Grad-CAM layer)`, async () => {
      const { model, index } = load(name)
      const dims = [2, 3, name === 'tiny_cnn' ? 32 : 64, name === 'tiny_cnn' ? 32 : 64]
      const input = index.inputNames[0]
      const logits = index.outputNames[0]
      const data = randomValues(size(dims), r)
      const shapes = await probeAll(index, { [input]: floatTensor(data, dims) }, name)
      const layer = camLayer(index)
      const seed = randomValues(size(shapes.get(logits)!), r, 0)

      const b = new GraphBuilder(model)
      const seedName = b.addInput('seed', DataType.FLOAT, shapes.get(logits)!)
      const wrt = [input, layer]
      const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds: new Map([[logits, seedName]]) })
      b.setOutputs(wrt.map((w) => grads.get(w)!))
      const session = await OrtSession.create(b.encode(), `${name} backward`)
      const ref = await session.run({ [input]: floatTensor(data, dims), seed: floatTensor(seed, shapes.get(logits)!) })
      await session.release()

      const exec = await TfjsExecutor.create(model, { backend, label: name })
      try {
        const got = exec.gradients({ feeds: { [input]: { data, dims } }, wrt, seeds: { [logits]: { data: seed, dims: shapes.get(logits)! } } })
        for (const w of wrt) {
          expect(got.grads[w].dims).toEqual(shapes.get(w))
          const g = ref[grads.get(w)!].data as Float32Array
          expect(maxOf(Array.from(g, Math.abs)), `${name} d/d${w} is not all zero`).toBeGreaterThan(0)
          expect(relDiff(got.grads[w].data, g), `${name} d/d${w}`).toBeLessThan(TOL)
        }
      } finally {
        exec.dispose()
      }
    })
  }
})

describe('refusals', () => {
  it('an op without a tfjs implementation, naming the op and the node', async () => {
    const created = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        node: [
          { name: 'first', opType: 'Relu', input: ['x'], output: ['a'] },
          { name: 'the_fft', opType: 'DFT', input: ['a'], output: ['y'] }
        ],
        input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 4 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } }]
      }
    })
    // As read from a file.
    const model = onnx.ModelProto.decode(onnx.ModelProto.encode(created).finish())
    const err = await rejection(TfjsExecutor.create(model, { backend, label: 'fft.onnx' }))
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/no implementation of DFT \(node the_fft\) in fft\.onnx/)
  })

  it('an output it does not compute is an error only where it is read, naming the op and the node', async () => {
    const { model, index } = load('tiny_cnn')
    const pool = index.nodes.find((n) => n.opType === 'MaxPool')!
    const edited = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
    const node = edited.graph!.node!.find((n) => (n.name || '') === pool.name || n.output![0] === pool.outputs[0])!
    node.output!.push('pool_indices')
    const exec = await TfjsExecutor.create(edited, { backend, label: 'tiny_cnn' })
    try {
      const dims = [1, 3, 32, 32]
      const feeds = { input: { data: randomValues(size(dims), r), dims } }
      // Unread, the Indices output does not matter; fetched, it is a clear error.
      expect(exec.run(feeds).logits.dims).toEqual([1, 5])
      expect(() => exec.run(feeds, ['pool_indices'])).toThrow(new RegExp(`MaxPool node ${pool.name}: its output 1 \\(pool_indices\\) is read, and this executor does not compute it`))
    } finally {
      exec.dispose()
    }
  })

  it('the pure-JS backend refuses a run over its FLOP limit with a message saying why and what to do', async () => {
    const { model } = load('mini_resnet')
    const pureJs = { ...backend, pureJs: true }
    const exec = await TfjsExecutor.create(model, { backend: pureJs, label: 'mini_resnet.onnx', limits: { flops: 20e6, params: 1e9 } })
    try {
      const dims = [2, 3, 64, 64]
      const run = () => exec.run({ input: { data: randomValues(size(dims), r), dims } })
      expect(run).toThrow(/mini_resnet\.onnx needs more than 20 MFLOPs .* pure-JS tfjs cpu backend .* onnxruntime/)
      // A smaller input fits (the count is per run, at the run's own shapes).
      const small = [1, 3, 16, 16]
      expect(exec.run({ input: { data: randomValues(size(small), r), dims: small } }).logits.dims).toEqual([1, 10])
    } finally {
      exec.dispose()
    }
  })

  it('the pure-JS backend refuses a model over its weight limit when it is created', async () => {
    const { model } = load('mini_resnet')
    const err = await rejection(TfjsExecutor.create(model, { backend: { ...backend, pureJs: true }, label: 'mini_resnet.onnx', limits: { flops: 1e12, params: 100e3 } }))
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/mini_resnet\.onnx has 158 k weights; the pure-JS tfjs cpu backend runs models up to 100 k/)
    expect(err.message).toContain(backend.reason)
  })

  it('a native backend has no limits', async () => {
    const { model } = load('tiny_cnn')
    const exec = await TfjsExecutor.create(model, { backend: { ...backend, pureJs: false }, limits: { flops: 1, params: 1 } })
    const dims = [1, 3, 32, 32]
    expect(exec.run({ input: { data: randomValues(size(dims), r), dims } }).logits.dims).toEqual([1, 5])
    exec.dispose()
  })
})

afterAll(() => {
  // Executors dispose their weights and every run its intermediates.
  expect(backend.tf.memory().numTensors).toBeLessThan(50)
})
