import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { adaptCommand } from '../../src/main/cli/fewshot-adapt-command'
import { cliErrorText } from '../../src/main/cli/flags'
import { adaptModel } from '../../src/main/engine/fewshot/adapt/adapt'
import { clearEmbeddingCache, embeddingCacheStats } from '../../src/main/engine/fewshot/adapt/embed'
import { writeAdaptedModel } from '../../src/main/engine/fewshot/adapt/write'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { toErrorShape } from '../../src/shared/errors'
import type { ModelSummary, PreprocessChoice } from '../../src/shared/api'
import { AdaptReport, type AdaptPreprocess } from '../../src/shared/fewshot'
import { rejection, ROOT, tempDir } from '../helpers'
import { writeModel } from '../synthetic-models'

/**
 * fewshot adapt with the preprocessing options cam takes (normalisation, resize, channel order,
 * size): on the demo model (its metadata states [0,1] inputs) and its real Fashion-MNIST images.
 */
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const CLASSES = ['Bag', 'Coat', 'Dress', 'Sandal', 'Trouser']

/**
 * What the Few-shot view says a run will use (src/renderer/src/lib/preprocess.ts), loaded at run time:
 * tsconfig.node.json does not list renderer files.
 */
type UiLib = { effectivePreprocess(s: ModelSummary, choice: PreprocessChoice): AdaptPreprocess }
const uiLib = () => import(/* @vite-ignore */ ['..', '..', 'src', 'renderer', 'src', 'lib', 'preprocess.ts'].join('/')) as Promise<UiLib>

let root: string
let base: { modelPath: string; supportDir: string; queryDir: string }

beforeAll(() => {
  root = tempDir('metascope-adapt-pre-')
  for (const c of CLASSES) {
    const files = readdirSync(join(DEMO_IMAGES, c)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    for (const [set, picked] of [['support', files.slice(0, 2)], ['query', files.slice(2, 4)]] as const) {
      mkdirSync(join(root, set, c), { recursive: true })
      picked.forEach((f) => copyFileSync(join(DEMO_IMAGES, c, f), join(root, set, c, f)))
    }
  }
  base = { modelPath: DEMO_MODEL, supportDir: join(root, 'support'), queryDir: join(root, 'query') }
})
afterAll(() => clearEmbeddingCache())

/** The CLI in-process: its one JSON line, or the error as the CLI prints it (flag named). */
async function cli(args: string[]): Promise<{ summary?: Record<string, unknown>; error?: string }> {
  const lines: string[] = []
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk))
    return true
  })
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    await adaptCommand(['--model', DEMO_MODEL, '--support', base.supportDir, '--query', base.queryDir, ...args])
    return { summary: JSON.parse(lines[0]) }
  } catch (e) {
    return { error: cliErrorText(toErrorShape(e)) }
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
}

describe('fewshot adapt: preprocessing options', () => {
  it('embeds with the chosen normalisation: imagenet differs from the unit range the demo states; the cache re-embeds on a change and reuses a repeat', async () => {
    clearEmbeddingCache()
    const own = await adaptModel(base)
    expect(own.preprocess).toMatchObject({ normalization: 'unit', source: { normalization: 'metadata', resize: 'metadata', size: 'shape' } })
    expect(own.embeddings).toEqual({ computed: 20, reused: 0 })

    // The same effective preprocessing, now chosen: the cache serves every image.
    const unit = await adaptModel({ ...base, normalization: 'unit' })
    expect(unit.preprocess).toMatchObject({ normalization: 'unit', source: { normalization: 'chosen' } })
    expect(unit.embeddings).toEqual({ computed: 0, reused: 20 })

    const imagenet = await adaptModel({ ...base, normalization: 'imagenet' })
    expect(imagenet.preprocess).toMatchObject({ normalization: 'imagenet', source: { normalization: 'chosen', resize: 'metadata' } })
    expect(imagenet.embeddings).toEqual({ computed: 20, reused: 0 })
    // Other inputs, other features: the prototype-started head and the original model's own "before" both move.
    const diff = unit.adapted.weight.reduce((m, v, i) => Math.max(m, Math.abs(v - imagenet.adapted.weight[i])), 0)
    expect(diff).toBeGreaterThan(1e-3)
    expect(unit.predictions.some((p, i) => Math.abs(p.before.probability - imagenet.predictions[i].before.probability) > 1e-3)).toBe(true)
    // The model was trained on [0,1] inputs: its own predictions ("before") are worse with ImageNet statistics.
    console.log(`demo 5-way 2-shot: before/after unit ${unit.accuracyBefore}/${unit.accuracyAfter}, imagenet ${imagenet.accuracyBefore}/${imagenet.accuracyAfter}`)
    expect(unit.accuracyBefore!).toBeGreaterThan(imagenet.accuracyBefore!)

    const again = await adaptModel({ ...base, normalization: 'imagenet' })
    expect(again.embeddings).toEqual({ computed: 0, reused: 20 })
    expect(Array.from(again.adapted.weight)).toEqual(Array.from(imagenet.adapted.weight))
    // A resize choice is another preprocessing too.
    const cropped = await adaptModel({ ...base, normalization: 'imagenet', resize: 'center-crop' })
    expect(cropped.preprocess.source.resize).toBe('chosen')
    expect(cropped.embeddings).toEqual({ computed: 20, reused: 0 })
    // The Few-shot view announces what the engine then reports.
    const { effectivePreprocess } = await uiLib()
    const summary = (await LoadedModel.open(DEMO_MODEL)).summary
    expect(effectivePreprocess(summary, {})).toEqual(own.preprocess)
    expect(effectivePreprocess(summary, { normalization: 'imagenet', resize: 'center-crop' })).toEqual(cropped.preprocess)
    expect(embeddingCacheStats()).toMatchObject({ computed: 60, reused: 40 })
  })

  it('the adapted model states the preprocessing it was adapted with: it opens with them as metadata and reproduces the results', async () => {
    const r = await adaptModel({ ...base, normalization: 'imagenet', steps: 3 })
    const path = join(root, 'imagenet.onnx')
    await writeAdaptedModel(path, r)
    const written = await LoadedModel.open(path)
    expect(written.summary.preprocess).toMatchObject({ normalization: 'imagenet', resize: 'stretch', source: { normalization: 'metadata', resize: 'metadata' } })
    // The demo is greyscale: it gets no channel order to state.
    expect(written.summary.metadata['metascope.channel_order']).toBeUndefined()
    // The original's own metascope.normalization (unit) is replaced, not repeated.
    expect(written.model.metadataProps.filter((p) => p.key === 'metascope.normalization')).toHaveLength(1)
    expect(JSON.parse(written.summary.metadata['metascope.adapted_from']).preprocess).toEqual(r.preprocess)
    // Adapted again from the written model with nothing chosen, the query images get the same features: the same "after" as "before".
    const reopened = await adaptModel({ ...base, modelPath: path, method: 'protonet' })
    expect(reopened.preprocess).toMatchObject({ normalization: 'imagenet', source: { normalization: 'metadata' } })
    reopened.predictions.forEach((p, i) => {
      expect(p.before.label).toBe(r.predictions[i].after.label)
      expect(p.before.probability).toBeCloseTo(r.predictions[i].after.probability, 4)
    })
  })

  it('a model with open height and width adapts at the chosen size and states it; a fixed-size model refuses another size', async () => {
    const fixed = writeModel(
      root,
      'strip.onnx',
      [
        { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
        { op: 'Relu', inputs: ['conv'], output: 'act' },
        { op: 'GlobalAveragePool', inputs: ['act'], output: 'pool' },
        { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
      ],
      { cw: [4, 3, 3, 3], w: [5, 4], b: [5] },
      5,
      [1, 3, 48, 192]
    )
    const model = onnx.ModelProto.decode(readFileSync(fixed))
    const dims = model.graph!.input![0].type!.tensorType!.shape!.dim!
    dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'height' })
    dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'width' })
    const dynamic = join(root, 'dynamic.onnx')
    writeFileSync(dynamic, onnx.ModelProto.encode(model).finish())

    const sized = await adaptModel({ ...base, modelPath: dynamic, size: { width: 96, height: 32 }, channelOrder: 'bgr', method: 'protonet' })
    expect(sized.model.size).toEqual([32, 96])
    expect(sized.preprocess).toMatchObject({ size: { width: 96, height: 32 }, channelOrder: 'bgr', normalization: 'imagenet', source: { size: 'chosen', channelOrder: 'chosen', normalization: 'default' } })
    const { effectivePreprocess } = await uiLib()
    const summary = (await LoadedModel.open(dynamic)).summary
    expect(effectivePreprocess(summary, { size: { width: 96, height: 32 }, channelOrder: 'bgr' })).toEqual(sized.preprocess)
    const plain = await adaptModel({ ...base, modelPath: dynamic, method: 'protonet' })
    expect(effectivePreprocess(summary, {})).toEqual(plain.preprocess)
    expect(plain.preprocess).toMatchObject({ size: { width: 224, height: 224 }, source: { size: 'default' } })
    expect(plain.embeddings.computed).toBe(20)
    const path = join(root, 'sized.onnx')
    await writeAdaptedModel(path, sized)
    const written = await LoadedModel.open(path)
    expect(written.size).toEqual([32, 96])
    expect(written.summary.preprocess).toMatchObject({ channelOrder: 'bgr', source: { size: 'metadata', channelOrder: 'metadata', normalization: 'metadata' } })

    const err = await rejection(adaptModel({ ...base, size: { width: 32, height: 32 } }))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toContain('fashion_cnn.onnx takes 28x28 (width x height) inputs only')
    expect(err.details).toMatchObject({ field: 'size', constraint: 'fixed' })
  })

  it('the CLI takes --normalization, --resize, --channel-order and --size as cam does; a bad value names the flag', async () => {
    const out = join(root, 'cli')
    const { summary, error } = await cli(['--out', out, '--normalization', 'symmetric', '--resize', 'center-crop', '--channel-order', 'BGR', '--steps', '2'])
    expect(error).toBeUndefined()
    expect(summary!.preprocess).toMatchObject({ normalization: 'symmetric', resize: 'center-crop', channelOrder: 'bgr', source: { normalization: 'chosen', resize: 'chosen', channelOrder: 'chosen' } })
    const report = AdaptReport.parse(JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')))
    expect(report.preprocess).toEqual(summary!.preprocess)
    expect((await LoadedModel.open(join(out, 'model.onnx'))).summary.preprocess).toMatchObject({ normalization: 'symmetric', resize: 'center-crop', source: { normalization: 'metadata' } })

    expect((await cli(['--out', join(root, 'bad1'), '--normalization', 'imagenet-ish'])).error).toBe('--normalization must be one of imagenet, unit, symmetric, raw (got "imagenet-ish").')
    expect((await cli(['--out', join(root, 'bad2'), '--resize', 'squash'])).error).toMatch(/^--resize must be one of stretch, center-crop/)
    expect((await cli(['--out', join(root, 'bad3'), '--channel-order', 'gbr'])).error).toMatch(/^--channel-order must be one of rgb, bgr/)
    expect((await cli(['--out', join(root, 'bad4'), '--size', 'wide'])).error).toMatch(/^--size: The input size must be WIDTHxHEIGHT/)
    expect((await cli(['--out', join(root, 'bad5'), '--size', '32x32'])).error).toMatch(/^--size: fashion_cnn\.onnx takes 28x28/)
  })

  it('reports written before the preprocessing was recorded still parse', () => {
    const old = JSON.parse(readFileSync(join(root, 'cli', 'predictions.json'), 'utf8'))
    delete old.preprocess
    expect(AdaptReport.safeParse(old).success).toBe(true)
  })
})
