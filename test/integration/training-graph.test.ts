import { describe, expect, it } from 'vitest'
import { floatTensor, OrtSession, type Feeds } from '../../src/main/engine/exec/ort'
import { oneHot } from '../../src/main/engine/fewshot/data/batch'
import { findHead } from '../../src/main/engine/fewshot/adapt/head'
import { QUERY, QUERY_LABELS } from '../../src/main/engine/fewshot/unroll'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { DataType, f32 } from '../../src/main/engine/onnx/tensor-data'
import { selectTrainable } from '../oracles/training-graph'
import { blockOf, findParameters } from '../../src/main/engine/fewshot/adapt/deep/blocks'
import { compileTrainingGraph } from '../../src/main/engine/fewshot/adapt/deep/tail'
import { readParams } from '../../src/main/engine/train/params'
import { onnx } from 'onnx-proto'
import { fixture, rejection } from '../helpers'
import { checkByDifferences } from '../finite-differences'

/**
 * Training graphs on a real ResNet-style classifier: the weights of the chosen blocks become graph
 * inputs, and one run returns loss, logits and every weight gradient, checked against central finite
 * differences of the loss (the same graph's loss output at perturbed weights).
 */
describe('training graphs', () => {
  it('finds the weights, their blocks, and resolves all / head / last blocks / scopes', async () => {
    const model = await LoadedModel.open(fixture('models', 'mini_resnet.onnx'))
    const params = findParameters(model.index)
    expect(params.length).toBeGreaterThan(10)
    expect(params.at(-1)!.name).toBe('fc.bias')
    const head = findHead(model)
    expect(selectTrainable(params, 'head', [head.weight, head.bias!])).toEqual(['fc.weight', 'fc.bias'])
    expect(selectTrainable(params, 'all', [])).toHaveLength(params.length)
    const blocks = [...new Set(params.map(blockOf))]
    expect(blocks.at(-1)).toBe('fc')
    const last2 = selectTrainable(params, { lastBlocks: 2 }, [])
    expect(last2.slice(-2)).toEqual(['fc.weight', 'fc.bias'])
    expect(last2.length).toBeGreaterThan(2)
    expect(new Set(last2.slice(0, -2).map((n) => blockOf(params.find((p) => p.name === n)!)))).toEqual(new Set([blocks.at(-2)]))
    expect(selectTrainable(params, { names: ['fc'] }, [])).toEqual(['fc.weight', 'fc.bias'])
    expect(() => selectTrainable(params, { names: ['layer9'] }, [])).toThrow(/No trainable weights named or under layer9/)
  })

  it('returns loss, logits and the gradients of the last two blocks, matching finite differences', async () => {
    const model = await LoadedModel.open(fixture('models', 'mini_resnet.onnx'))
    const trainable = selectTrainable(findParameters(model.index), { lastBlocks: 2 }, [])
    const batch = 3
    const graph = await compileTrainingGraph({ model: model.model, inputName: model.inputName, inputChw: model.inputChw, logitsName: model.logitsName, classes: model.numClasses, batch, trainable })
    const session = await OrtSession.create(graph.bytes, 'training graph', { intraOpThreads: 1 })
    const weights = readParams(model.model, trainable)
    const [c, h, w] = model.inputChw
    const images = Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.sin(i * 0.37) * 1.5)
    const feeds: Feeds = { [QUERY]: floatTensor(images, [batch, c, h, w]), [QUERY_LABELS]: floatTensor(oneHot([1, 4, 7], model.numClasses), [batch, model.numClasses]) }
    for (const [name, t] of weights) feeds[name] = floatTensor(t.data, t.dims)
    const out = await session.run(feeds)
    const loss = async (f: Feeds) => (await session.run(f))[graph.queryLoss].data[0] as number
    expect((out[graph.queryLogits].dims as number[])).toEqual([batch, model.numClasses])
    const checked = await checkByDifferences({ names: trainable, grads: trainable.map((_, i) => out[graph.grads[i]].data as Float32Array), weights, feeds, loss })
    expect(checked).toBeGreaterThan(6)
    await session.release()
  })

  it('names the op and node when a trainable weight reaches an op without a gradient rule', async () => {
    const empty = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 15 }], graph: { name: 'g', node: [], initializer: [], input: [], output: [] } })
    const b = new GraphBuilder(empty, 't')
    b.addInput('image', DataType.FLOAT, ['batch', 1, 2, 2])
    const flat = b.node('Flatten', ['image'], { axis: 1 }, ['flat'])[0]
    b.namedConstant('w', f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [4, 2]))
    const z = b.node('MatMul', [flat, 'w'], {}, ['z'])[0]
    b.rawNode(onnx.NodeProto.create({ name: 'wave', opType: 'Cos', input: [z], output: ['logits'] }))
    b.setOutputs(['logits'])
    const model = b.build()
    expect(findParameters(new GraphIndex(model)).map((p) => p.name)).toEqual(['w'])
    const err = await rejection(compileTrainingGraph({ model, inputName: 'image', inputChw: [1, 2, 2], logitsName: 'logits', classes: 2, batch: 2, trainable: ['w'] }))
    expect(err.message).toMatch(/No gradient rule for op Cos \(node wave\)/)
    expect(err.details).toMatchObject({ op: 'Cos', node: 'wave' })
  })
})
