import { readFileSync, writeFileSync } from 'node:fs'
import { onnx } from 'onnx-proto'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { PerturbationParams } from '../../src/main/engine/cam/methods/base'
import { blackBaseline } from '../../src/main/engine/cam/pixel/baselines'
import type { PixelSources } from '../../src/main/engine/cam/pixel/sources'
import { planCam } from '../../src/main/engine/cam/plan'
import { CamRunner, type CamMap } from '../../src/main/engine/cam/runner'
import { readNpy } from '../../src/main/engine/data/npy'
import { inferPreprocess } from '../../src/main/engine/data/preprocess-spec'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { ATTRIBUTION_DEFAULTS } from '../../src/shared/api'
import { maxOf, minOf } from '../../src/shared/stats'
import { pearson } from '../cam-reference'
import { fixture, rejection, tempDir } from '../helpers'
import { layoutTwins } from '../synthetic-models'

/**
 * Occlusion and RISE against scripts/fixtures/perturbation_reference.py: Captum's Occlusion arithmetic
 * and RISE's definition in float64 PyTorch over the committed ONNX files. RISE gets the reference's own
 * masks (PixelSources.mask) and both methods the same baselines, so both sides compute the same sums.
 */
interface Case {
  id: string
  method: 'occlusion' | 'rise'
  baseline: 'black' | 'uniform'
  map: string
  window?: number
  stride?: number
  masks?: string
}
interface MaskSet {
  masks: string
  grids: string
  shifts: string
  n: number
  cellSize: number
  keep: number
}
interface Manifest {
  mask_sets: Record<string, MaskSet>
  models: Record<string, { model: string; cam_inputs: string; inputs: string[]; targets: number[]; uniform: string; export: { bn_kept: boolean }; cases: Case[] }>
}

const ROOT = fixture('perturbation')
const manifest: Manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8'))
const perImage = async (file: string) => {
  const { shape, data } = await readNpy(file)
  const per = shape.slice(1).reduce((p, d) => p * d, 1)
  return Array.from({ length: shape[0] }, (_, i) => data.subarray(i * per, (i + 1) * per))
}
const black = () => blackBaseline(inferPreprocess([1, 3, 64, 64]))

async function open(name: string) {
  const m = manifest.models[name]
  const model = await LoadedModel.open(fixture(m.model))
  const inputs = await Promise.all(m.inputs.map(async (f) => (await readNpy(fixture(m.cam_inputs, f))).data))
  return { m, model, inputs }
}

async function run(name: string, c: Case, hooks: { throwIfCancelled?: () => void; onStep?: (image: number, done: number, total: number) => void } = {}) {
  const { m, model, inputs } = await open(name)
  const uniform = (await readNpy(fixture(m.uniform))).data
  const set = c.masks ? manifest.mask_sets[c.masks] : null
  const masks = set ? await perImage(join(ROOT, set.masks)) : []
  const sources: PixelSources = {
    baseline: () => (c.baseline === 'uniform' ? uniform : black()),
    noise: () => {
      throw new Error('no noise here')
    },
    mask: (k) => masks[k]
  }
  const D = ATTRIBUTION_DEFAULTS
  const params: PerturbationParams = { window: c.window ?? D.window, stride: c.stride ?? D.stride, masks: set?.n ?? D.masks, cellSize: set?.cellSize ?? 16, keep: set?.keep ?? D.keep }
  // 24 copies per run: 32 masks or 169 windows end in a partial batch.
  const runner = await CamRunner.create(model, { method: c.method, layer: 'auto', pixel: { params: { steps: 2, integration: 'trapezoid', samples: 1, noise: 0 }, sources }, perturbation: { params, seed: 0, batch: 24 } })
  try {
    return { m, out: await runner.run(inputs, inputs.map(() => -1), hooks.throwIfCancelled, hooks.onStep), refs: await perImage(join(ROOT, c.map)), runner }
  } finally {
    await runner.release()
  }
}

const cases = Object.entries(manifest.models).flatMap(([name, m]) => m.cases.map((c) => [`${name}/${c.id}`, name, c] as [string, string, Case]))

describe('perturbation attributions match their PyTorch definitions', () => {
  it('covers both methods on the fixture ResNet, a BatchNorm-kept export and a model ending in Softmax', () => {
    expect(new Set(cases.map(([, , c]) => c.method))).toEqual(new Set(['occlusion', 'rise']))
    expect(manifest.models.mini_resnet_bn.export.bn_kept).toBe(true)
    for (const name of ['mini_resnet', 'mini_resnet_bn', 'mini_softmax']) expect([...new Set(manifest.models[name].cases.map((c) => c.method))].sort()).toEqual(['occlusion', 'rise'])
  })

  it.each(cases)('%s (Pearson r >= 0.999 per map, values within 1e-3 of the reference)', async (_id, name, c) => {
    const { m, out, refs } = await run(name, c)
    out.forEach((r, i) => {
      expect(r.target.index).toBe(m.targets[i])
      expect(r.rawShape).toEqual([64, 64])
      expect(pearson(Array.from(r.raw), Array.from(refs[i])), `image ${i}`).toBeGreaterThanOrEqual(0.999)
      // Not just the shape: the same values (the score before the Softmax, RISE's 1 / (N p), Captum's mean over windows).
      const scale = Math.max(maxOf(refs[i]), -minOf(refs[i]))
      let worst = 0
      for (let p = 0; p < refs[i].length; p++) worst = Math.max(worst, Math.abs(r.raw[p] - refs[i][p]))
      expect(worst, `image ${i}`).toBeLessThan(1e-3 * scale)
      expect(maxOf(r.map)).toBeLessThanOrEqual(1)
      expect(minOf(r.map)).toBeGreaterThanOrEqual(0)
      expect(maxOf(r.map)).toBeGreaterThan(0)
    })
    // Occlusion is signed: on these images hiding some windows raises the score.
    if (c.method === 'occlusion') expect(out.some((r) => r.raw.some((v) => v < 0)) && out.some((r) => r.raw.some((v) => v > 0))).toBe(true)
  })

  it('tells progress per batch of changed copies and stops between batches when cancelled', async () => {
    const c = manifest.models.mini_resnet.cases.find((x) => x.id === 'occlusion_w8_s4_black')!
    const steps: [number, number, number][] = []
    await run('mini_resnet', c, { onStep: (image, done, total) => steps.push([image, done, total]) })
    // 15 x 15 windows, 24 per run: 0, 24, ..., 216, 225 for each of the 3 images.
    const first = steps.filter(([i]) => i === 0).map(([, d]) => d)
    expect(first).toEqual([0, 24, 48, 72, 96, 120, 144, 168, 192, 216, 225])
    expect(steps.every(([, , t]) => t === 225)).toBe(true)
    expect(new Set(steps.map(([i]) => i))).toEqual(new Set([0, 1, 2]))

    let asked = 0
    let after = 0
    const cancelled = run('mini_resnet', c, {
      throwIfCancelled: () => {
        if (++asked > 3) throw new Error('cancelled')
      },
      onStep: () => {
        if (asked > 3) after++
      }
    })
    await expect(cancelled).rejects.toThrow('cancelled')
    expect(after).toBe(0)
  })
})

describe('perturbation settings are checked before any work', () => {
  const opts = { layer: 'auto', target: 'top1' }
  const model = () => LoadedModel.open(fixture('models', 'mini_resnet.onnx'))
  it('a window larger than the input, a stride past the window, a cell larger than the input: errors naming the field', async () => {
    const a = await rejection(planCam(await model(), [], { ...opts, method: 'occlusion', window: 65 }))
    expect(a.code).toBe('invalid-arguments')
    expect(a.details?.field).toBe('window')
    expect(a.message).toMatch(/window \(65 pixels\) .*64x64/)
    const b = await rejection(planCam(await model(), [], { ...opts, method: 'occlusion', window: 8, stride: 9 }))
    expect(b.details?.field).toBe('stride')
    expect(b.message).toMatch(/stride \(9 pixels\) is larger than its window \(8 pixels\)/)
    const c = await rejection(planCam(await model(), [], { ...opts, method: 'rise', cellSize: 100 }))
    expect(c.details?.field).toBe('cellSize')
  })

  it('RISE with seeded masks: one seed gives the same map, another a different one', async () => {
    const { model, inputs } = await open('mini_resnet')
    const maps = []
    for (const seed of [5, 5, 6]) {
      const { runner, target } = await planCam(model, [], { ...opts, method: 'rise', masks: 40, cellSize: 16, keep: 0.5, seed })
      try {
        maps.push(Array.from((await runner.run([inputs[0]], [target]))[0].raw))
      } finally {
        await runner.release()
      }
    }
    expect(maps[0]).toEqual(maps[1])
    expect(maps[0]).not.toEqual(maps[2])
  })
})

describe('perturbation attributions on other model forms', () => {
  const toNhwc = (x: Float32Array, c: number, plane: number) => {
    const out = new Float32Array(x.length)
    for (let k = 0; k < c; k++) for (let p = 0; p < plane; p++) out[p * c + k] = x[k * plane + p]
    return out
  }
  const params: PerturbationParams = { window: 3, stride: 2, masks: 20, cellSize: 4, keep: 0.5 }

  it.each(['occlusion', 'rise'] as const)('%s: a channels-last (NHWC) model gives the NCHW twin\'s map', async (method) => {
    const { nchw, nhwc } = layoutTwins(tempDir())
    const image = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.11))
    const maps: CamMap[] = []
    for (const [path, x] of [[nchw, image], [nhwc, toNhwc(image, 3, 64)]] as const) {
      const runner = await CamRunner.create(await LoadedModel.open(path), { method, layer: 'auto', perturbation: { params, seed: 1, batch: 7 } })
      try {
        maps.push((await runner.run([x], [-1]))[0])
      } finally {
        await runner.release()
      }
    }
    expect(maps[1].target.index).toBe(maps[0].target.index)
    expect(maps[1].rawShape).toEqual([8, 8])
    for (let p = 0; p < 64; p++) expect(maps[1].raw[p]).toBeCloseTo(maps[0].raw[p], 4)
    expect(maps[0].raw.some((v) => v !== 0)).toBe(true)
  })

  it('a model with a fixed batch of 2 gives the dynamic model\'s maps (its last run padded)', async () => {
    const model = onnx.ModelProto.decode(readFileSync(fixture('models', 'mini_resnet.onnx')))
    for (const v of [...model.graph!.input!, ...model.graph!.output!]) v.type!.tensorType!.shape!.dim![0] = { dimValue: 2 }
    const fixed = join(tempDir(), 'mini_resnet_batch2.onnx')
    writeFileSync(fixed, onnx.ModelProto.encode(model).finish())
    const { inputs } = await open('mini_resnet')
    const p: PerturbationParams = { ...params, window: 16, stride: 12 }
    const out: CamMap[][] = []
    for (const path of [fixture('models', 'mini_resnet.onnx'), fixed]) {
      const runner = await CamRunner.create(await LoadedModel.open(path), { method: 'occlusion', layer: 'auto', perturbation: { params: p, seed: 0 } })
      try {
        out.push(await runner.run(inputs.slice(0, 2), [-1, -1]))
      } finally {
        await runner.release()
      }
    }
    out[0].forEach((r, i) => {
      expect(out[1][i].target.index).toBe(r.target.index)
      for (let q = 0; q < r.raw.length; q++) expect(out[1][i].raw[q]).toBeCloseTo(r.raw[q], 4)
    })
  })
})
