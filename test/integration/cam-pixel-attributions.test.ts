import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import type { PixelParams } from '../../src/main/engine/cam/methods/base'
import { blackBaseline } from '../../src/main/engine/cam/pixel/baselines'
import type { PixelSources } from '../../src/main/engine/cam/pixel/sources'
import { readNpy } from '../../src/main/engine/data/npy'
import { inferPreprocess } from '../../src/main/engine/data/preprocess-spec'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import type { CamMethodId } from '../../src/shared/registry/cam-methods'
import { maxOf, minOf } from '../../src/shared/stats'
import { pearson } from '../cam-reference'
import { fixture } from '../helpers'

/**
 * The pixel attributions against scripts/fixtures/attribution_reference.py (their published
 * definitions in float64 PyTorch autograd over the committed ONNX files), written by
 * make_attribution_fixtures.py. The stochastic methods get the reference's own noise and the uniform
 * baseline its own picture (PixelSources), so both sides compute the same sums.
 */
interface Case {
  id: string
  method: string
  map: string
  integration?: 'gausslegendre' | 'trapezoid'
  steps?: number
  baseline?: 'black' | 'uniform'
  samples?: number
  completeness_error?: number[]
  delta?: number[]
}
interface Manifest {
  model: string
  cam_inputs: string
  inputs: string[]
  targets: number[]
  export: { bn_kept: boolean }
  cases: Case[]
}

const ROOT = fixture('attribution')
const MODELS = ['mini_resnet', 'mini_resnet_bn', 'mini_softmax']
const manifest = (name: string): Manifest => JSON.parse(readFileSync(join(ROOT, name, 'manifest.json'), 'utf8'))
const perImage = async (file: string) => {
  const { shape, data } = await readNpy(file)
  const per = shape.slice(1).reduce((p, d) => p * d, 1)
  return Array.from({ length: shape[0] }, (_, i) => data.subarray(i * per, (i + 1) * per))
}

async function run(name: string, c: Case) {
  const m = manifest(name)
  const model = await LoadedModel.open(fixture(m.model))
  const inputs = await Promise.all(m.inputs.map(async (f) => (await readNpy(fixture(m.cam_inputs, f))).data))
  const noise = await perImage(join(ROOT, name, 'noise.npy')) // [N][K*C*H*W]
  const uniform = (await readNpy(join(ROOT, name, 'uniform.npy'))).data
  const per = inputs[0].length
  const sources: PixelSources = {
    baseline: () => (c.baseline === 'uniform' ? uniform : blackBaseline(inferPreprocess([1, 3, 64, 64]))),
    noise: (input, k) => noise[inputs.findIndex((x) => x === input || x.every((v, i) => v === input[i]))].subarray(k * per, (k + 1) * per)
  }
  const params: PixelParams = { steps: c.steps ?? 32, integration: c.integration ?? 'gausslegendre', samples: c.samples ?? 4, noise: 0.15 }
  // pointBatch 24: a path of 64 (+1 baseline) points runs in three chunks, the last one partial.
  const runner = await CamRunner.create(model, { method: c.method as CamMethodId, layer: 'auto', pixel: { params, sources, pointBatch: 24 } })
  try {
    return { m, out: await runner.run(inputs, inputs.map(() => -1)), refs: await perImage(join(ROOT, name, c.map)) }
  } finally {
    await runner.release()
  }
}

const cases = MODELS.flatMap((name) => manifest(name).cases.map((c) => [`${name}/${c.id}`, name, c] as [string, string, Case]))

describe('pixel attributions match their PyTorch definitions', () => {
  it('covers every new method, a BatchNorm-kept export and a model ending in Softmax', () => {
    const methods = new Set(cases.map(([, , c]) => c.method))
    expect([...methods].sort()).toEqual(['inputxgradient', 'integratedgradients', 'saliency', 'smoothgrad', 'smoothgrad-sq', 'vargrad'])
    expect(manifest('mini_resnet_bn').export.bn_kept).toBe(true)
    expect(cases.some(([id]) => id.startsWith('mini_softmax/ig'))).toBe(true)
  })

  it.each(cases)('%s (Pearson r >= 0.999 per map, targets and completeness as the reference)', async (_id, name, c) => {
    const { m, out, refs } = await run(name, c)
    out.forEach((r, i) => {
      expect(r.target.index).toBe(m.targets[i])
      expect(r.rawShape).toEqual([64, 64])
      const r2 = pearson(Array.from(r.raw), Array.from(refs[i]))
      expect(r2, `image ${i}`).toBeGreaterThanOrEqual(0.999)
      // The displayed map is |raw| scaled into [0, 1] (Captum's 2% outlier clipping).
      expect(maxOf(r.map)).toBeLessThanOrEqual(1)
      expect(minOf(r.map)).toBeGreaterThanOrEqual(0)
      if (c.completeness_error) {
        expect(r.completeness!.delta).toBeCloseTo(c.delta![i], 4)
        expect(Math.abs(r.completeness!.error - c.completeness_error[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(c.delta![i])))
      }
    })
    if (c.method === 'inputxgradient' || c.method === 'integratedgradients') {
      // Signed methods keep the sign: both signs occur on these images.
      expect(out.some((r) => r.raw.some((v) => v < 0)) && out.some((r) => r.raw.some((v) => v > 0))).toBe(true)
    }
  })

  it("Integrated Gradients' completeness error shrinks with the steps, below 1% of |F(x) - F(baseline)| on the fixture ResNet", async () => {
    // mini_resnet is a ReLU/max-pool net with random weights at 64 px: along the path its gradient jumps
    // often, so 64 Gauss-Legendre steps leave 4-31% (the reference says the same: ig_gl64_black). The
    // error is the quadrature's, not the gradients': with 4,096 trapezoid steps it falls below 1%.
    const c: Case = { id: 'ig_trapezoid4096', method: 'integratedgradients', map: 'ig_gl64_black.npy', integration: 'trapezoid', steps: 4096, baseline: 'black' }
    const fine = await run('mini_resnet', c)
    const coarse = await run('mini_resnet', manifest('mini_resnet').cases.find((x) => x.id === 'ig_gl64_black')!)
    fine.out.forEach((r, i) => {
      expect(Math.abs(r.completeness!.error)).toBeLessThan(0.01 * Math.abs(r.completeness!.delta))
      expect(Math.abs(r.completeness!.error)).toBeLessThan(Math.abs(coarse.out[i].completeness!.error))
      // The finer path integral still agrees with the 64-step reference map.
      expect(pearson(Array.from(r.raw), Array.from(fine.refs[i]))).toBeGreaterThan(0.95)
    })
  }, 120_000)

  it("the trained fixture ResNet: 64 Gauss-Legendre steps leave under 1% of |F(x) - F(baseline)|, as the reference's", async () => {
    // mini_resnet_trained (make_trained_resnet.py): the same ResNet trained on Fashion-MNIST, whose class
    // scores bend gently along the path, as a trained model's do.
    const dir = join(ROOT, 'mini_resnet_trained')
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Omit<Manifest, 'cam_inputs' | 'export'>
    const c = m.cases[0]
    expect([c.method, c.integration, c.steps, c.baseline]).toEqual(['integratedgradients', 'gausslegendre', 64, 'black'])
    const model = await LoadedModel.open(fixture(m.model))
    const inputs = await Promise.all(m.inputs.map(async (f) => (await readNpy(join(dir, f))).data))
    const refs = await perImage(join(dir, c.map))
    const sources: PixelSources = { baseline: () => blackBaseline(inferPreprocess([1, 3, 64, 64])), noise: () => new Float32Array(0) }
    const params: PixelParams = { steps: 64, integration: 'gausslegendre', samples: 1, noise: 0 }
    const runner = await CamRunner.create(model, { method: 'integratedgradients', layer: 'auto', pixel: { params, sources } })
    try {
      const out = await runner.run(inputs, inputs.map(() => -1))
      out.forEach((r, i) => {
        expect(r.target.index).toBe(m.targets[i])
        expect(pearson(Array.from(r.raw), Array.from(refs[i])), `image ${i}`).toBeGreaterThanOrEqual(0.999)
        expect(r.completeness!.delta).toBeCloseTo(c.delta![i], 4)
        expect(Math.abs(r.completeness!.error), `image ${i}`).toBeLessThan(0.01 * Math.abs(r.completeness!.delta))
        expect(Math.abs(r.completeness!.error - c.completeness_error![i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(c.delta![i])))
      })
    } finally {
      await runner.release()
    }
  }, 120_000)
})
