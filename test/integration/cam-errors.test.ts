import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { runCamBatches, type CamOutcome } from '../../src/main/engine/cam/batch-job'
import { collectInputs, modelPreprocess } from '../../src/main/engine/model/inputs'
import { encodeNpy } from '../../src/main/engine/data/npy'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { fixture, rejection, tempDir } from '../helpers'
import { cosModel, mlpModel } from '../synthetic-models'

const tiny = fixture('models', 'tiny_cnn.onnx')

describe('CAM bad inputs', () => {
  it('a truncated or non-ONNX model file is refused, naming the file', async () => {
    const dir = tempDir()
    const bytes = readFileSync(fixture('models', 'mini_resnet.onnx'))
    writeFileSync(join(dir, 'cut.onnx'), bytes.subarray(0, 5000))
    writeFileSync(join(dir, 'photo.onnx'), readFileSync(fixture('images', 'objects', 'coffee.png')))
    for (const f of ['cut.onnx', 'photo.onnx']) {
      const e = await rejection(LoadedModel.open(join(dir, f)))
      expect(e.code).toBe('bad-file')
      expect(e.message).toContain(f)
    }
  })

  it('a model with no 4-D layer says so', async () => {
    const model = await LoadedModel.open(mlpModel(tempDir()))
    const e = await rejection(CamRunner.create(model, { method: 'gradcam', layer: 'auto' }))
    expect(e.code).toBe('unsupported')
    expect(e.message).toMatch(/mlp\.onnx has no 4-D/)
  })

  it('an unknown layer name lists close matches', async () => {
    const model = await LoadedModel.open(fixture('models', 'mini_resnet.onnx'))
    const e = await rejection(CamRunner.create(model, { method: 'gradcam', layer: 'layer5' }))
    expect(e.code).toBe('not-found')
    expect(e.message).toContain('layer5')
    const matches = (e.details as { closeMatches: string[] }).closeMatches
    expect(matches.length).toBeGreaterThan(0)
    expect(matches.some((m) => /layer[1-4]/.test(m))).toBe(true)
  })

  it('an op with no VJP rule between the layer and the output is named, with its node', async () => {
    const model = await LoadedModel.open(cosModel(tempDir()))
    const e = await rejection(CamRunner.create(model, { method: 'gradcam', layer: 'conv' }))
    expect(e.code).toBe('unsupported')
    expect(e.message).toContain('Cos')
    expect(e.message).toContain('Cos_1')
    // Eigen-CAM needs no gradients, so the same layer still works there.
    await expect(CamRunner.create(model, { method: 'eigencam', layer: 'conv' })).resolves.toBeDefined()
  })

  it('an unreadable or zero-byte image among good ones fails alone', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'imgs'))
    copyFileSync(fixture('images', 'animals', 'chelsea.png'), join(dir, 'imgs', 'a.png'))
    copyFileSync(fixture('images', 'objects', 'rocket.jpg'), join(dir, 'imgs', 'b.jpg'))
    writeFileSync(join(dir, 'imgs', 'empty.png'), '')
    writeFileSync(join(dir, 'imgs', 'broken.jpg'), readFileSync(fixture('images', 'objects', 'rocket.jpg')).subarray(0, 40))
    const model = await LoadedModel.open(tiny)
    const runner = await CamRunner.create(model, { method: 'gradcam', layer: 'auto' })
    const { inputs } = await collectInputs([join(dir, 'imgs')])
    const outcomes: CamOutcome[] = []
    const counts = await runCamBatches({ runner, inputs, preprocess: modelPreprocess(model), target: -1, batch: 8, onOutcome: (o) => void outcomes.push(o) })
    expect(counts).toEqual({ ok: 2, failed: 2 })
    const bad = Object.fromEntries(outcomes.filter((o) => !o.ok).map((o) => [o.input.stem, o.ok ? null : o.error]))
    expect(bad.empty?.message).toContain('empty.png')
    expect(bad.broken?.message).toContain('broken.jpg')
    expect(bad.broken?.code).toBe('bad-file')
    for (const o of outcomes.filter((x) => x.ok)) expect(o.ok && o.result.map.length).toBe(32 * 32)
  })

  it('a tensor of the wrong shape names the file and both shapes', async () => {
    const dir = tempDir()
    const path = join(dir, 'small.npy')
    writeFileSync(path, encodeNpy([1, 3, 10, 10], new Float32Array(300)))
    const model = await LoadedModel.open(tiny)
    const runner = await CamRunner.create(model, { method: 'gradcam', layer: 'auto' })
    const { inputs } = await collectInputs([path])
    const outcomes: CamOutcome[] = []
    await runCamBatches({ runner, inputs, preprocess: modelPreprocess(model), target: -1, batch: 4, onOutcome: (o) => void outcomes.push(o) })
    expect(outcomes).toHaveLength(1)
    const o = outcomes[0]
    expect(o.ok).toBe(false)
    if (!o.ok) expect(o.error.message).toMatch(/small\.npy has shape \[1, 3, 10, 10\].*\[1, 3, 32, 32\]/)
  })

  it('a target class out of range is refused before any work', async () => {
    const model = await LoadedModel.open(tiny)
    expect(() => model.resolveTarget(5)).toThrow(/out of range.*5 classes \(0-4\)/)
    expect(() => model.resolveTarget('999')).toThrow(ApiError)
    expect(() => model.resolveTarget('hexagon')).toThrow(/not a class/)
    expect(model.resolveTarget('triangle')).toBe(2)
    expect(model.resolveTarget('top1')).toBe(-1)
  })
})
