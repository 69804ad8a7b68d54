import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { onnx } from 'onnx-proto'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { modelForInputs, modelPreprocess, type CamInput } from '../../src/main/engine/model/inputs'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { decodeNpy, encodeNpy } from '../../src/main/engine/data/npy'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { parseSize } from '../../src/main/engine/data/preprocess-spec'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { pearson } from '../cam-reference'
import { fixture, ROOT, rejection, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'
import type { CamItem, ModelSummary } from '../../src/shared/api'
import { writeModel } from '../synthetic-models'

/**
 * Input sizes: a model with dynamic height/width runs at the size its metadata, --size / the API, or
 * its .npy inputs give (not always 224x224); a fixed-size model keeps its size; BGR models get their
 * channels swapped.
 */
const dir = tempDir()
const nodes: Parameters<typeof writeModel>[2] = [
  { op: 'Conv', inputs: ['input', 'cw'], output: 'conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
  { op: 'Relu', inputs: ['conv'], output: 'act' },
  { op: 'GlobalAveragePool', inputs: ['act'], output: 'pool' },
  { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
  { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
]
const init = { cw: [4, 3, 3, 3], w: [5, 4], b: [5] }

/** The same classifier with a fixed 48x192 input and with symbolic height/width (plus metadata). */
const fixed = writeModel(dir, 'fixed.onnx', nodes, init, 5, [1, 3, 48, 192])
function dynamic(name: string, meta: Record<string, string> = {}): string {
  const model = onnx.ModelProto.decode(readFileSync(fixed))
  const dims = model.graph!.input![0].type!.tensorType!.shape!.dim!
  dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'height' })
  dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'width' })
  model.metadataProps = Object.entries(meta).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))
  const path = join(dir, name)
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}
const tensor = Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i * 0.013) + Math.cos(i * 0.0071))
const npy = join(dir, 'strip.npy')
writeFileSync(npy, encodeNpy([1, 3, 48, 192], tensor))

describe('parseSize', () => {
  it('reads WxH (and one number for a square) as [height, width]', () => {
    expect(parseSize('192x48')).toEqual([48, 192])
    expect(parseSize('224')).toEqual([224, 224])
    for (const bad of ['48,192', 'x48', '0x10', '-3x3', 'big']) expect(() => parseSize(bad), bad).toThrow(/--size|size/)
  })
})

describe('models with dynamic height and width', () => {
  it('take 224x224 by default, the metadata size, or the size asked for', async () => {
    const plain = await LoadedModel.open(dynamic('dyn.onnx'))
    expect(plain.dynamicSize).toBe(true)
    expect(plain.size).toEqual([224, 224])
    expect((await LoadedModel.open(dynamic('meta.onnx', { 'metascope.size': '192x48' }))).size).toEqual([48, 192])
    expect((await LoadedModel.open(dynamic('meta2.onnx', { image_size: '96' }))).size).toEqual([96, 96])
    const sized = await plain.atSize([40, 100])
    expect(sized.size).toEqual([40, 100])
    expect(sized.inputDims(2)).toEqual([2, 3, 40, 100])
    expect(modelPreprocess(sized).size).toEqual([40, 100])
    expect(await sized.atSize([40, 100])).toBe(sized)
  })

  it('bad size metadata is an error naming the entry', async () => {
    const err = await rejection(LoadedModel.open(dynamic('badmeta.onnx', { 'metascope.size': 'wide' })))
    expect(err.message).toContain('metascope.size')
    expect(err.message).toContain('badmeta.onnx')
  })

  it('run at a .npy input size, with the same map as the fixed-size twin', async () => {
    const dyn = await LoadedModel.open(dynamic('dyn2.onnx'))
    const inputs: CamInput[] = [{ path: npy, kind: 'tensor', stem: 'strip' }]
    const model = await modelForInputs(dyn, inputs)
    expect(model.size).toEqual([48, 192])
    const twin = await LoadedModel.open(fixed)
    expect(twin.dynamicSize).toBe(false)
    const a = await CamRunner.create(model, { method: 'gradcam', layer: 'act' })
    const b = await CamRunner.create(twin, { method: 'gradcam', layer: 'act' })
    const [ra] = await a.run([tensor], [-1])
    const [rb] = await b.run([tensor], [-1])
    await a.release()
    await b.release()
    expect(ra.map.length).toBe(48 * 192)
    expect(ra.rawShape).toEqual([24, 96])
    expect(ra.target.index).toBe(rb.target.index)
    expect(pearson(ra.map, rb.map)).toBeGreaterThan(0.99999)
  })

  it('an explicit size beats the .npy size; a fixed-size model refuses another size', async () => {
    const dyn = await LoadedModel.open(dynamic('dyn3.onnx'))
    expect((await modelForInputs(dyn, [{ path: npy, kind: 'tensor' }], [64, 64])).size).toEqual([64, 64])
    const twin = await LoadedModel.open(fixed)
    expect(await modelForInputs(twin, [], [48, 192])).toBe(twin)
    const err = await rejection(modelForInputs(twin, [], [224, 224]))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toContain('fixed.onnx takes 192x48')
  })
})

describe('the cam command', () => {
  const run = promisify(execFile)
  const cli = async (args: string[]) => {
    try {
      const { stdout, stderr } = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/main/cli.ts', ...args], { cwd: ROOT })
      return { code: 0, stdout, stderr }
    } catch (err) {
      return err as { code: number; stdout: string; stderr: string }
    }
  }

  it('runs a dynamic model on a 48x192 .npy at its own size', async () => {
    const out = join(dir, 'out-npy')
    const r = await cli(['cam', '--model', dynamic('cli.onnx'), '--images', npy, '--out', out])
    expect(r.code, r.stderr).toBe(0)
    expect(decodeNpy(readFileSync(join(out, 'strip.gradcam.cam.npy'))).shape).toEqual([48, 192])
  })

  it('runs images at --size WxH with --channel-order, and results.json names the score tensor', async () => {
    const img = join(dir, 'photo.png')
    await sharp({ create: { width: 50, height: 30, channels: 3, background: { r: 10, g: 200, b: 90 } } }).png().toFile(img)
    const out = join(dir, 'out-size')
    const r = await cli(['cam', '--model', dynamic('cli2.onnx'), '--images', img, '--out', out, '--size', '80x32', '--channel-order', 'bgr'])
    expect(r.code, r.stderr).toBe(0)
    expect(decodeNpy(readFileSync(join(out, 'photo.gradcam.cam.npy'))).shape).toEqual([32, 80])
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { scoreTensor?: string }[]
    expect(results[0].scoreTensor).toBe('logits')
  })

  it('refuses a bad --channel-order or --size naming the flag', async () => {
    const bad = await cli(['cam', '--model', fixed, '--images', npy, '--out', join(dir, 'x'), '--channel-order', 'cmyk'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('--channel-order must be one of rgb, bgr')
    const badSize = await cli(['cam', '--model', fixed, '--images', npy, '--out', join(dir, 'x'), '--size', '48,192'])
    expect(badSize.code).not.toBe(0)
    expect(badSize.stderr).toContain('--size: The input size must be WIDTHxHEIGHT')
  })
})

describe('cam.run (the API)', () => {
  it('takes size and channelOrder, runs a .npy at its own size, and each item names the score tensor', async () => {
    const { service, events, until } = jobHarness()
    const summary = (await service.call('models.open', { path: dynamic('api.onnx') })) as ModelSummary
    const items = async (args: Record<string, unknown>) => {
      const { jobId } = (await service.call('cam.run', { modelId: summary.id, ...args })) as { jobId: string }
      await until((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.done')
      return events.filter((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.item').map((e) => (e as { item: CamItem }).item)
    }
    const [sized] = await items({ paths: [fixture('images', 'animals', 'chelsea.png')], size: { width: 72, height: 40 }, channelOrder: 'bgr' })
    expect(sized).toMatchObject({ ok: true, width: 72, height: 40, scoreTensor: 'logits' })
    const [strip] = await items({ paths: [npy] })
    expect(strip).toMatchObject({ ok: true, width: 192, height: 48 })
    await expect(service.call('cam.run', { modelId: summary.id, paths: [npy], channelOrder: 'cmyk' })).rejects.toMatchObject({ code: 'invalid-arguments' })
  })
})

describe('channel order', () => {
  it('BGR models get blue first, each colour normalised with its own ImageNet statistics', async () => {
    const path = join(dir, 'orange.png')
    await sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 255, g: 128, b: 0 } } }).png().toFile(path)
    // torchvision Normalize(mean, std)(ToTensor()(img)) for this colour, R, G, B (see image-tensor.test.ts).
    const rgbValues = [2.248908281326294, 0.20518219470977783, -1.804444432258606]
    const base = { size: [2, 3] as [number, number], normalization: 'imagenet' as const, resize: 'stretch' as const }
    const nchw = await loadImageTensor(path, { ...base, layout: 'NCHW', channelOrder: 'bgr' })
    const nhwc = await loadImageTensor(path, { ...base, layout: 'NHWC', channelOrder: 'bgr' })
    for (let slot = 0; slot < 3; slot++) {
      for (let p = 0; p < 6; p++) {
        expect(nchw.data[slot * 6 + p]).toBe(rgbValues[2 - slot])
        expect(nhwc.data[p * 3 + slot]).toBe(rgbValues[2 - slot])
      }
    }
  })

  it('comes from metadata (metascope.channel_order) unless overridden', async () => {
    const m = await LoadedModel.open(dynamic('bgr.onnx', { 'metascope.channel_order': 'BGR' }))
    expect(modelPreprocess(m).channelOrder).toBe('bgr')
    expect(modelPreprocess(m, { channelOrder: 'rgb' }).channelOrder).toBe('rgb')
    expect(modelPreprocess(await LoadedModel.open(fixed)).channelOrder).toBeUndefined()
  })
})
