import { beforeAll, describe, expect, it } from 'vitest'
import type { ModelSummary } from '../../src/shared/api'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { hasDynamicSize, inferPreprocess, sizeFromMetadata } from '../../src/main/engine/data/preprocess'
import type { LoadedModel } from '../../src/main/engine/model/loaded-model'

/**
 * The renderer's Preprocessing controls (src/renderer/src/lib/preprocess.ts) say what "model default"
 * means and whether a size can be chosen; the engine decides what a run really uses. The reference
 * here is the engine's own code, so the two cannot drift apart. Loaded at run time: tsconfig.node.json
 * does not list renderer files (vue-tsc checks the module itself).
 */
type Size = { width: number; height: number }
type Lib = {
  modelDefaults(s: ModelSummary): { channels: number | null; dynamicSize: boolean; normalization: string; resize: string; channelOrder: string; size: Size | null }
  checkSizeText(w: string, h: string): { ok: true; size: Size | null } | { ok: false; problem: string }
  preprocessArgs(choice: object | undefined, dynamicSize: boolean): object
}
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'lib', 'preprocess.ts'].join('/')
let lib: Lib

beforeAll(async () => {
  lib = (await import(/* @vite-ignore */ modulePath)) as Lib
})

type Dim = number | string | null
const summary = (shape: Dim[], metadata: Record<string, string> = {}): ModelSummary => ({
  id: 'm',
  path: '/m.onnx',
  format: 'onnx',
  fileBytes: 0,
  irVersion: 8,
  opsets: { '': 13 },
  producer: '',
  inputs: [{ name: 'x', elemType: 'float', shape }],
  outputs: [],
  nodeCount: 0,
  parameterCount: 0,
  opTypes: {},
  metadata,
  labels: null
})

/** What the engine would run a model of this shape and metadata with, when nothing is chosen. */
function engineDefaults(s: ModelSummary) {
  const shape = s.inputs[0].shape
  const opened = inferPreprocess(shape)
  const dynamicSize = hasDynamicSize(shape, opened.layout)
  let size: [number, number] | null = opened.size
  if (dynamicSize) {
    try {
      size = sizeFromMetadata(s.metadata) ?? opened.size
    } catch {
      size = null // the engine refuses to open the model: the UI shows no default size
    }
  }
  // modelPreprocess reads only the summary and the size the model was opened at.
  const pre = modelPreprocess({ summary: s, size: size ?? opened.size } as unknown as LoadedModel)
  return {
    channels: opened.channels ?? 3,
    dynamicSize,
    normalization: pre.normalization,
    resize: pre.resize,
    channelOrder: pre.channelOrder ?? 'rgb',
    size: size && { width: size[1], height: size[0] }
  }
}

describe('what "model default" means in the Preprocessing controls', () => {
  const cases: [string, Dim[], Record<string, string>][] = [
    ['fixed NCHW, no metadata', ['batch', 3, 224, 224], {}],
    ['fixed NHWC (tf2onnx), 96x128', [1, 96, 128, 3], {}],
    ['greyscale with metadata presets', ['batch', 1, 28, 28], { 'metascope.normalization': 'unit', 'metascope.resize': 'stretch' }],
    ['upper-case BGR and centre crop', ['batch', 3, 32, 32], { 'metascope.channel_order': 'BGR', 'metascope.resize': 'center-crop', 'metascope.normalization': 'symmetric' }],
    ['unknown presets fall back', ['batch', 3, 32, 32], { 'metascope.normalization': 'zscore', 'metascope.channel_order': 'gbr', 'metascope.resize': 'fit' }],
    ['dynamic size, no metadata', ['batch', 3, 'height', 'width'], {}],
    ['dynamic size from metascope.size (WxH)', ['N', 3, 'h', 'w'], { 'metascope.size': '192x48' }],
    ['dynamic NHWC from input_size (one number)', ['N', 'h', 'w', 3], { input_size: '320' }],
    ['metascope.size wins over image_size', ['N', 3, null, null], { image_size: '64', 'metascope.size': '100 x 50' }],
    ['one spatial dim dynamic', ['N', 3, 32, 'w'], { image_size: '40X30' }],
    ['malformed size metadata', ['N', 3, 'h', 'w'], { 'metascope.size': 'big' }]
  ]
  for (const [name, shape, meta] of cases) {
    it(name, () => {
      const s = summary(shape, meta)
      expect(lib.modelDefaults(s)).toEqual(engineDefaults(s))
    })
  }
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
