import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { CamItem, ModelSummary } from '../../src/shared/api'
import { CHANNEL_ORDERS, NORMALIZATIONS, RESIZES, type ModelPreprocess } from '../../src/shared/preprocess'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { encodeAttributes } from '../../src/main/engine/onnx/builder'
import { encodeTensor, f32 } from '../../src/main/engine/onnx/tensor-data'
import { fixture, rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * The Preprocessing controls say what "model default" means and whether a size can be chosen. The
 * engine works that out when it opens a model and sends it as the summary's `preprocess`; it must be
 * exactly what a run uses when nothing is chosen (modelPreprocess of the opened model), and `source`
 * must say which parts the file states. The renderer module is loaded at run time: tsconfig.node.json
 * does not list renderer files (vue-tsc checks the module itself).
 */
type Size = { width: number; height: number }
type Lib = {
  modelDefaults(s: ModelSummary): ModelPreprocess
  checkSizeText(w: string, h: string): { ok: true; size: Size | null } | { ok: false; problem: string }
  preprocessArgs(choice: object | undefined, dynamicSize: boolean): object
  NORMALIZATIONS: readonly string[]
  RESIZES: readonly string[]
  CHANNEL_ORDERS: readonly string[]
}
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'lib', 'preprocess.ts'].join('/')
let lib: Lib

beforeAll(async () => {
  lib = (await import(/* @vite-ignore */ modulePath)) as Lib
})

const dir = tempDir()
const { service, events, until } = jobHarness()

type Dim = number | string | null
let written = 0

/**
 * A small conv classifier taking `shape` (NCHW, or NHWC transposed inside as tf2onnx writes it), with
 * `metadata`. Strings are symbolic dims, null an unknown one.
 */
function shapedModel(shape: Dim[], metadata: Record<string, string>): string {
  const nhwc = shape[1] !== 1 && shape[1] !== 3
  const channels = (nhwc ? shape[3] : shape[1]) as number
  const node = (opType: string, input: string[], output: string, attrs: Parameters<typeof encodeAttributes>[0] = {}) =>
    onnx.NodeProto.create({ name: output, opType, input, output: [output], attribute: encodeAttributes(attrs) })
  const dims = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d }))
  const weights = (name: string, d: number[]) => encodeTensor(name, f32(Array.from({ length: d.reduce((p, x) => p * x, 1) }, (_, i) => Math.sin(i + 1) * 0.3), d))
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'metascope-tests',
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: Object.entries(metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    graph: {
      name: 'shaped',
      node: [
        ...(nhwc ? [node('Transpose', ['input'], 'image', { perm: [0, 3, 1, 2] })] : []),
        node('Conv', [nhwc ? 'image' : 'input', 'cw'], 'conv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
        node('Relu', ['conv'], 'act'),
        node('GlobalAveragePool', ['act'], 'pool'),
        node('Flatten', ['pool'], 'flat', { axis: 1 }),
        node('Gemm', ['flat', 'w', 'b'], 'logits', { transB: 1 })
      ],
      input: [onnx.ValueInfoProto.create({ name: 'input', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } } })],
      initializer: [weights('cw', [4, channels, 3, 3]), weights('w', [5, 4]), weights('b', [5])],
      output: [onnx.ValueInfoProto.create({ name: 'logits', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 5 }] } } } })]
    }
  })
  const path = join(dir, `shaped_${written++}.onnx`)
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

/** What a run uses when nothing is chosen, in the summary's terms. */
async function whatARunUses(path: string): Promise<Omit<ModelPreprocess, 'source'>> {
  const model = await LoadedModel.open(path)
  const pre = modelPreprocess(model)
  return {
    channels: pre.channels ?? 3,
    layout: pre.layout,
    dynamicSize: model.dynamicSize,
    normalization: pre.normalization,
    resize: pre.resize,
    channelOrder: pre.channelOrder ?? 'rgb',
    size: { width: pre.size[1], height: pre.size[0] }
  }
}

const open = async (path: string) => (await service.call('models.open', { path })) as ModelSummary

type Source = ModelPreprocess['source']
const assumed: Source = { normalization: 'default', resize: 'default', channelOrder: 'default', size: 'shape' }

describe('the summary says what "model default" means: what a run uses, and what the file states', () => {
  const cases: [string, Dim[], Record<string, string>, Source][] = [
    ['fixed NCHW, no metadata', ['batch', 3, 224, 224], {}, assumed],
    ['fixed NHWC (tf2onnx), 96x128', [1, 96, 128, 3], {}, assumed],
    ['greyscale with metadata presets', ['batch', 1, 28, 28], { 'metascope.normalization': 'unit', 'metascope.resize': 'stretch' }, { ...assumed, normalization: 'metadata', resize: 'metadata' }],
    ['upper-case BGR and centre crop', ['batch', 3, 32, 32], { 'metascope.channel_order': 'BGR', 'metascope.resize': 'center-crop', 'metascope.normalization': 'symmetric' }, { normalization: 'metadata', resize: 'metadata', channelOrder: 'metadata', size: 'shape' }],
    ['unknown presets fall back', ['batch', 3, 32, 32], { 'metascope.normalization': 'zscore', 'metascope.channel_order': 'gbr', 'metascope.resize': 'fit' }, assumed],
    ['dynamic size, no metadata', ['batch', 3, 'height', 'width'], {}, { ...assumed, size: 'default' }],
    ['dynamic size from metascope.size (WxH)', ['N', 3, 'h', 'w'], { 'metascope.size': '192x48' }, { ...assumed, size: 'metadata' }],
    ['dynamic NHWC from input_size (one number)', ['N', 'h', 'w', 3], { input_size: '320' }, { ...assumed, size: 'metadata' }],
    ['metascope.size wins over image_size', ['N', 3, null, null], { image_size: '64', 'metascope.size': '100 x 50' }, { ...assumed, size: 'metadata' }],
    ['one spatial dim dynamic', ['N', 3, 32, 'w'], { image_size: '40X32' }, { ...assumed, size: 'metadata' }]
  ]
  for (const [name, shape, meta, source] of cases) {
    it(name, async () => {
      const path = shapedModel(shape, meta)
      const summary = await open(path)
      expect(summary.preprocess).toEqual({ ...(await whatARunUses(path)), source })
      // The controls show the summary's values; they derive nothing themselves.
      expect(lib.modelDefaults(summary)).toEqual(summary.preprocess)
    })
  }

  it('malformed size metadata: the model does not open, so the controls show no default', async () => {
    const e = await rejection(open(shapedModel(['N', 3, 'h', 'w'], { 'metascope.size': 'big' })))
    expect(e.code).toBe('bad-file')
    expect(e.message).toContain('metascope.size')
  })

  const files: [string, string, Source][] = [
    ['a TensorFlow.js layers model (NHWC)', fixture('tfjs', 'small_cnn', 'model.json'), assumed],
    ['a TensorFlow.js graph model (NHWC)', fixture('tfjs', 'small_graph', 'model.json'), assumed],
    ['an ONNX model stating its normalisation', fixture('audit', 'small_convnet.onnx'), { ...assumed, normalization: 'metadata' }],
    ['the greyscale demo stating normalisation and resize', join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'), { ...assumed, normalization: 'metadata', resize: 'metadata' }]
  ]
  for (const [name, path, source] of files) {
    it(name, async () => {
      expect((await open(path)).preprocess).toEqual({ ...(await whatARunUses(path)), source })
    })
  }

  it('cam.run with nothing chosen runs at the size and with the preprocessing the summary gives', async () => {
    const summary = await open(shapedModel(['N', 3, 'h', 'w'], { 'metascope.size': '40x24', 'metascope.normalization': 'unit' }))
    expect(summary.preprocess).toMatchObject({ dynamicSize: true, size: { width: 40, height: 24 }, normalization: 'unit' })
    const { jobId } = (await service.call('cam.run', { modelId: summary.id, paths: [fixture('images', 'animals', 'chelsea.png')] })) as { jobId: string }
    await until((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.done')
    const items = events.filter((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.item').map((e) => (e as { item: CamItem }).item)
    expect(items).toEqual([expect.objectContaining({ ok: true, ...summary.preprocess.size })])
  })

  it('a model opened again at a chosen size says so', async () => {
    const model = await LoadedModel.open(shapedModel(['N', 3, 'h', 'w'], { 'metascope.size': '40x24' }))
    const sized = await model.atSize([20, 36])
    expect(sized.summary.preprocess).toMatchObject({ size: { width: 36, height: 20 }, source: { size: 'chosen' } })
    expect(modelPreprocess(sized).size).toEqual([20, 36])
  })

  it('the controls offer the shared lists of choices', () => {
    expect(lib.NORMALIZATIONS).toBe(NORMALIZATIONS)
    expect(lib.RESIZES).toBe(RESIZES)
    expect(lib.CHANNEL_ORDERS).toBe(CHANNEL_ORDERS)
  })
})

describe('the size fields', () => {
  it('take two empty fields as the model default and two whole numbers in range as the size', () => {
    expect(lib.checkSizeText('', ' ')).toEqual({ ok: true, size: null })
    expect(lib.checkSizeText(' 192', '48 ')).toEqual({ ok: true, size: { width: 192, height: 48 } })
    expect(lib.checkSizeText('1', '8192')).toEqual({ ok: true, size: { width: 1, height: 8192 } })
  })

  it('name what is wrong with anything else', () => {
    expect(lib.checkSizeText('48', '')).toEqual({ ok: false, problem: 'sizeBoth' })
    expect(lib.checkSizeText('', '48')).toEqual({ ok: false, problem: 'sizeBoth' })
    for (const bad of ['4.5', '-3', '1e3', 'abc', '48px']) expect(lib.checkSizeText(bad, '48')).toEqual({ ok: false, problem: 'sizeWhole' })
    expect(lib.checkSizeText('0', '48')).toEqual({ ok: false, problem: 'sizeRange' })
    expect(lib.checkSizeText('48', '8193')).toEqual({ ok: false, problem: 'sizeRange' })
  })
})

describe('the cam.run fields a choice becomes', () => {
  it('sends only what was chosen, and a size only to a model whose size is dynamic', () => {
    expect(lib.preprocessArgs(undefined, true)).toEqual({})
    expect(lib.preprocessArgs({}, true)).toEqual({})
    const choice = { channelOrder: 'bgr', normalization: 'unit', size: { width: 48, height: 40 } }
    expect(lib.preprocessArgs(choice, true)).toEqual(choice)
    expect(lib.preprocessArgs(choice, false)).toEqual({ channelOrder: 'bgr', normalization: 'unit' })
    expect(lib.preprocessArgs({ resize: 'center-crop' }, false)).toEqual({ resize: 'center-crop' })
  })
})
