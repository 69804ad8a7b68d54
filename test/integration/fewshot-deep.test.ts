import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { adaptModel } from '../../src/main/engine/fewshot/adapt/adapt'
import { blockOf, lastBlocks } from '../../src/main/engine/fewshot/adapt/deep/blocks'
import { compileTrainingGraph, tailNet } from '../../src/main/engine/fewshot/adapt/deep/tail'
import { resolveFeatures } from '../../src/main/engine/fewshot/adapt/features'
import { findHead } from '../../src/main/engine/fewshot/adapt/head'
import { writeAdaptedModel } from '../../src/main/engine/fewshot/adapt/write'
import { oneHot } from '../../src/main/engine/fewshot/data/batch'
import { FASHION_MNIST_DIR, readIdxPair } from '../../src/main/engine/fewshot/data/idx'
import { QUERY, QUERY_LABELS } from '../../src/main/engine/fewshot/unroll'
import { floatTensor, OrtSession, type Feeds } from '../../src/main/engine/exec/ort'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { graphOf } from '../../src/main/engine/onnx/model-file'
import { DataType, decodeTensor, f32 } from '../../src/main/engine/onnx/tensor-data'
import { readParams } from '../../src/main/engine/train/params'
import { AdaptReport, type AdaptItem } from '../../src/shared/fewshot'
import { maxOf } from '../../src/shared/stats'
import { rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'
import { checkByDifferences } from '../finite-differences'

/**
 * Deeper adaptation (issue #22 item 4) on the demo model (resources/demo/fashion_cnn.onnx: three conv
 * blocks features.0 / .3 / .6, global pooling, a Gemm): the tail's gradients against finite
 * differences, the written model (only the last k blocks' weights changed), the refusals, and a
 * shifted domain (inverted Fashion-MNIST images) on which fine-tuning beats the head alone.
 */
const DEMO = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')

/** Explicit sets of demo images: the first `support` files of each class as support, the rest as query. */
function demoSets(classes: string[], support: number) {
  return {
    classes: classes.map((name) => {
      const files = readdirSync(join(DEMO_IMAGES, name)).sort().map((f) => join(DEMO_IMAGES, name, f))
      return { name, support: files.slice(0, support), query: files.slice(support) }
    })
  }
}

function initializers(model: onnx.ModelProto): Map<string, Float32Array> {
  return new Map(graphOf(model).initializer.filter((t) => t.dataType === DataType.FLOAT).map((t) => [t.name ?? '', decodeTensor(t).data as Float32Array]))
}

describe('deeper adaptation', () => {
  it('counts blocks PyTorch- and Keras-style and cuts in front of the last k', async () => {
    const model = await LoadedModel.open(DEMO)
    const features = resolveFeatures(model, findHead(model))
    const two = lastBlocks(model, features.tensor, 2)
    expect(two.blocks.map((b) => b.name)).toEqual(['features.3', 'features.6'])
    expect(two.trainable).toEqual(['features.3.weight', 'features.3.bias', 'features.6.weight', 'features.6.bias'])
    expect(two.cut).toBe('/features/features.2/MaxPool_output_0')
    expect(two.cutShape).toEqual([16, 13, 13])
    // Three blocks: the cut is the image itself.
    expect(lastBlocks(model, features.tensor, 3).cut).toBe(model.inputName)
    // Keras / tfjs layer names (the nsfwjs MobileNetV2's, ResNet50's, EfficientNet's): the block prefix, or the layer alone.
    const keras = (name: string) => blockOf({ name, node: name.split('/')[0] })
    expect(['block_16_expand/kernel', 'block_16_project/kernel', 'Conv_1/kernel', 'expanded_conv_project/kernel', 'conv2_block1_1_conv/kernel', 'block1a_dwconv/depthwise_kernel', 'dense_1/kernel'].map(keras)).toEqual([
      'block_16',
      'block_16',
      'Conv_1',
      'expanded_conv',
      'conv2_block1',
      'block1a',
      'dense_1'
    ])
  })

  it("computes the tail's loss gradients for the last two blocks and the head, matching finite differences", async () => {
    const model = await LoadedModel.open(DEMO)
    const features = resolveFeatures(model, findHead(model))
    const cut = lastBlocks(model, features.tensor, 2)
    const ways = 3
    const head = { weight: Float32Array.from({ length: ways * features.width }, (_, i) => Math.sin(i * 1.7) * 0.3), bias: Float32Array.from([0.1, -0.2, 0.05]) }
    const net = tailNet(model, cut.cut, cut.cutShape, features, head, cut.trainable)
    const batch = 3
    const graph = await compileTrainingGraph({ model: net.model, inputName: net.inputName, inputChw: net.inputChw, logitsName: net.logitsName, classes: ways, batch, trainable: net.params })
    const session = await OrtSession.create(graph.bytes, 'tail training graph', { intraOpThreads: 1 })
    const weights = readParams(net.model, net.params)
    const [c, h, w] = net.inputChw
    // Cut activations come out of a ReLU and a max pool: non-negative.
    const acts = Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.abs(Math.sin(i * 0.37)) * 1.5)
    const feeds: Feeds = { [QUERY]: floatTensor(acts, [batch, c, h, w]), [QUERY_LABELS]: floatTensor(oneHot([0, 2, 1], ways), [batch, ways]) }
    for (const [name, t] of weights) feeds[name] = floatTensor(t.data, t.dims)
    const out = await session.run(feeds)
    const loss = async (f: Feeds) => (await session.run(f))[graph.queryLoss].data[0] as number
    const checked = await checkByDifferences({ names: net.params, grads: net.params.map((_, i) => out[graph.grads[i]].data as Float32Array), weights, feeds, loss, nonZero: true })
    expect(checked).toBe(net.params.length * 3)
    await session.release()
  })

  it('fine-tunes exactly the last k blocks, streams each step, and writes a model that opens and runs', async () => {
    const items: AdaptItem[] = []
    const r = await adaptModel({ modelPath: DEMO, sets: demoSets(['Bag', 'Coat', 'Sandal'], 2), depth: 1, deepSteps: 6, seed: 3, threads: 1, onStep: (item) => items.push(item) })
    expect(r.deep).toMatchObject({ depth: 1, blocks: ['features.6'], augment: true, views: 4, seed: 3, stepsAsked: 6 })
    // Two shots: one image per class held out, 6 validation steps, then the chosen number of final steps.
    expect(r.deep!.heldOutLoss).toHaveLength(7)
    expect(items.filter((i) => i.phase === 'validation').map((i) => i.step)).toEqual([0, 1, 2, 3, 4, 5])
    expect(items.filter((i) => i.phase === 'final')).toHaveLength(r.deep!.steps)
    expect(r.supportLoss).toEqual(items.filter((i) => i.phase === 'final').map((i) => i.supportLoss))

    // Without early stopping every step is a final one, and the last block's weights move.
    const full = await adaptModel({ modelPath: DEMO, sets: demoSets(['Bag', 'Coat', 'Sandal'], 2), depth: 1, deepSteps: 6, earlyStop: false, seed: 3, threads: 1 })
    expect(full.steps).toBe(6)
    expect(full.deep!.heldOutLoss).toBeNull()
    // Seeded: the same call draws the same views and reaches the same weights; another seed does not.
    const again = await adaptModel({ modelPath: DEMO, sets: demoSets(['Bag', 'Coat', 'Sandal'], 2), depth: 1, deepSteps: 6, earlyStop: false, seed: 3, threads: 1 })
    expect(again.supportLoss).toEqual(full.supportLoss)
    expect(Buffer.from(again.deep!.weights.get('features.6.weight')!.buffer).equals(Buffer.from(full.deep!.weights.get('features.6.weight')!.buffer))).toBe(true)
    const other = await adaptModel({ modelPath: DEMO, sets: demoSets(['Bag', 'Coat', 'Sandal'], 2), depth: 1, deepSteps: 6, earlyStop: false, seed: 4, threads: 1 })
    expect(other.supportLoss).not.toEqual(full.supportLoss)
    const out = join(tempDir(), 'model.onnx')
    await writeAdaptedModel(out, full)
    const written = await LoadedModel.open(out)
    const before = initializers(full.model.model)
    const after = initializers(written.model)
    for (const name of ['features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias']) expect(Buffer.from(after.get(name)!.buffer).equals(Buffer.from(before.get(name)!.buffer)), name).toBe(true)
    for (const name of ['features.6.weight', 'features.6.bias']) expect(Buffer.from(after.get(name)!.buffer).equals(Buffer.from(before.get(name)!.buffer)), name).toBe(false)
    expect(after.has('classifier.weight')).toBe(false)
    expect(written.numClasses).toBe(3)
    const meta = JSON.parse(written.model.metadataProps.find((p) => p.key === 'metascope.adapted_from')!.value!)
    expect(meta.deep).toMatchObject({ depth: 1, blocks: ['features.6'], augment: true, seed: 3, steps: 6, earlyStopped: false })
    // The written model scores a query image as the adaptation did.
    const session = await OrtSession.create(readFileSync(out), 'adapted', { intraOpThreads: 1 })
    const p = full.predictions[0]
    const { loadImageTensor } = await import('../../src/main/engine/data/image-tensor')
    const x = await loadImageTensor(p.file, { size: [28, 28], layout: 'NCHW', normalization: 'unit', resize: 'stretch', channels: 1 })
    const logits = (await session.run({ [written.inputName]: floatTensor(x.data, [1, 1, 28, 28]) }))[written.logitsName].data as Float32Array
    expect(logits.indexOf(maxOf(logits))).toBe(p.after.index)
    await session.release()
  })

  it('fewshot.adapt streams each step\'s support loss while it trains, and reports what was fine-tuned', async () => {
    const { service, events, until } = jobHarness()
    const out = tempDir()
    const { jobId } = (await service.call('fewshot.adapt', { modelPath: DEMO, sets: demoSets(['Bag', 'Coat', 'Sandal'], 2), depth: 2, deepSteps: 8, earlyStop: false, out })) as { jobId: string }
    const end = await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)
    expect(end.type).toBe('job.done')
    const mine = events.filter((e) => 'jobId' in e && e.jobId === jobId)
    const items = mine.filter((e) => e.type === 'job.item').map((e) => (e as { item: AdaptItem }).item)
    expect(items.map((i) => [i.phase, i.step])).toEqual(Array.from({ length: 8 }, (_, k) => ['final', k]))
    // Live: every step's item comes before the adaptation stage reports itself finished.
    const adapted = mine.findIndex((e) => e.type === 'job.progress' && e.phase === 'adaptation')
    expect(adapted).toBeGreaterThan(mine.findLastIndex((e) => e.type === 'job.item'))
    const report = (end as { result: AdaptReport }).result
    expect(report.deep).toMatchObject({ depth: 2, blocks: ['features.3', 'features.6'], augment: true, steps: 8, heldOutLoss: null })
    expect(report.supportLoss).toEqual(items.map((i) => i.supportLoss))
    const saved = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8'))
    expect(AdaptReport.parse(saved).deep?.trainedParameters).toBeGreaterThan(20_000)
  })

  it('beats head-only adaptation on a shifted domain: inverted Fashion-MNIST images (white garments on black)', async () => {
    // The demo model learnt dark backgrounds and bright garments; its test images inverted (255 - v)
    // are a domain it never saw. Five similar classes (T-shirt, Pullover, Coat, Shirt, Bag), 5-shot,
    // 20 queries per class, 6 episodes of distinct test images; the same files for both settings.
    const { images, labels } = await readIdxPair(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'), join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'))
    const classes = [0, 2, 4, 6, 8]
    const names = ['T-shirt_top', 'Pullover', 'Coat', 'Shirt', 'Bag']
    const px = images.height * images.width
    const root = tempDir()
    const head: number[] = []
    const deep: number[] = []
    for (let ep = 0; ep < 6; ep++) {
      const dir = join(root, `ep${ep}`)
      for (const [k, c] of classes.entries()) {
        const rows = [...labels.keys()].filter((i) => labels[i] === c).slice(ep * 25, ep * 25 + 25)
        for (const [j, i] of rows.entries()) {
          const folder = join(dir, j < 5 ? 'support' : 'query', names[k])
          mkdirSync(folder, { recursive: true })
          const inverted = Buffer.from(images.pixels.subarray(i * px, (i + 1) * px).map((v) => 255 - v))
          await sharp(inverted, { raw: { width: images.width, height: images.height, channels: 1 } }).png().toFile(join(folder, `${i}.png`))
        }
      }
      const call = { modelPath: DEMO, supportDir: join(dir, 'support'), queryDir: join(dir, 'query'), threads: 2 }
      head.push((await adaptModel(call)).accuracyAfter)
      deep.push((await adaptModel({ ...call, depth: 2 })).accuracyAfter)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    console.log(`inverted Fashion-MNIST, 5-way 5-shot, 6 episodes: head only ${head.map((a) => a.toFixed(2)).join(' ')} (mean ${mean(head).toFixed(3)}); last 2 blocks ${deep.map((a) => a.toFixed(2)).join(' ')} (mean ${mean(deep).toFixed(3)})`)
    expect(mean(deep)).toBeGreaterThan(mean(head) + 0.03)
  }, 120_000)

  it('refuses a depth beyond the blocks, adding classes with depth, augmentation without depth, and augmentation on 1x1 inputs', async () => {
    const sets = demoSets(['Bag', 'Coat'], 2)
    const deep = await rejection(adaptModel({ modelPath: DEMO, sets, depth: 4 }))
    expect(deep.details).toMatchObject({ field: 'depth', constraint: 'blocks', max: 3, blocks: ['features.0', 'features.3', 'features.6'] })
    expect(deep.message).toContain('has 3 blocks')
    expect((await rejection(adaptModel({ modelPath: DEMO, sets, depth: 1, mode: 'add' }))).details).toMatchObject({ field: 'depth' })
    expect((await rejection(adaptModel({ modelPath: DEMO, sets, augment: true }))).details).toMatchObject({ field: 'augment' })

    // A model of 1x1 "images": a 1x1 conv block, then a linear head.
    const base = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'px', node: [], initializer: [], input: [], output: [] } })
    const b = new GraphBuilder(base)
    b.addInput('input', DataType.FLOAT, ['batch', 3, 1, 1])
    b.namedConstant('block1.weight', f32(Float32Array.from({ length: 8 * 3 }, (_, i) => Math.sin(i)), [8, 3, 1, 1]))
    b.namedConstant('block1.bias', f32(new Float32Array(8), [8]))
    b.node('Conv', ['input', 'block1.weight', 'block1.bias'], {}, ['conv'])
    b.node('Relu', ['conv'], {}, ['relu'])
    b.node('Flatten', ['relu'], { axis: 1 }, ['flat'])
    b.namedConstant('fc.weight', f32(Float32Array.from({ length: 2 * 8 }, (_, i) => Math.cos(i)), [2, 8]))
    b.namedConstant('fc.bias', f32(new Float32Array(2), [2]))
    b.node('Gemm', ['flat', 'fc.weight', 'fc.bias'], { transB: 1 }, ['logits'])
    b.setOutputs(['logits'])
    const path = join(tempDir(), 'pixel.onnx')
    await import('node:fs/promises').then((fs) => fs.writeFile(path, b.encode()))
    const tiny = await rejection(adaptModel({ modelPath: path, sets, depth: 1, augment: true }))
    expect(tiny.details).toMatchObject({ field: 'augment', constraint: 'too-small', value: '1x1' })
    expect(tiny.message).toContain('pixel.onnx takes 1x1 inputs')
  })
})
