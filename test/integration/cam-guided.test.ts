import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { upsampleNearest } from '../../src/main/engine/cam/methods/guided-gradcam'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { decodeNpy, readNpy } from '../../src/main/engine/data/npy'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import type { CamMethodId } from '../../src/shared/registry/cam-methods'
import { pearson } from '../cam-reference'
import { fixture, ROOT, tempDir } from '../helpers'

/**
 * Guided Backprop, Deconvnet and Guided Grad-CAM against scripts/fixtures/guided_reference.py: Captum's
 * mechanism rebuilt in float64 PyTorch (backward hooks on nn.ReLU modules, LayerGradCam through a
 * forward hook, nearest upsampling) over the committed ONNX files, none of Metascope's gradient rules.
 */
interface Case {
  id: string
  method: CamMethodId
  map: string
  layer?: string
}
interface Manifest {
  model: string
  cam_inputs: string
  inputs: string[]
  targets: number[]
  export: { bn_kept: boolean }
  cases: Case[]
}

const ROOT_FIXTURES = fixture('guided')
const MODELS = ['mini_resnet', 'mini_resnet_bn', 'mini_softmax']
const manifest = (name: string): Manifest => JSON.parse(readFileSync(join(ROOT_FIXTURES, name, 'manifest.json'), 'utf8'))
const cases = MODELS.flatMap((name) => manifest(name).cases.map((c) => [`${name}/${c.id}`, name, c] as [string, string, Case]))

async function run(name: string, c: Case) {
  const m = manifest(name)
  const model = await LoadedModel.open(fixture(m.model))
  const inputs = await Promise.all(m.inputs.map(async (f) => (await readNpy(fixture(m.cam_inputs, f))).data))
  const runner = await CamRunner.create(model, { method: c.method, layer: c.layer ?? 'auto' })
  try {
    const { shape, data } = await readNpy(join(ROOT_FIXTURES, name, c.map))
    const per = shape[1] * shape[2]
    const refs = Array.from({ length: shape[0] }, (_, i) => data.subarray(i * per, (i + 1) * per))
    return { m, runner, out: await runner.run(inputs, inputs.map(() => -1)), refs }
  } finally {
    await runner.release()
  }
}

describe('Guided Backprop, Deconvnet and Guided Grad-CAM match Captum’s definitions', () => {
  it('covers the three methods, a mid-network layer, a BatchNorm-kept export and a model ending in Softmax', () => {
    expect([...new Set(cases.map(([, , c]) => c.method))].sort()).toEqual(['deconvnet', 'guidedbackprop', 'guidedgradcam'])
    expect(cases.filter(([, , c]) => c.method === 'guidedgradcam').map(([id]) => id)).toEqual(
      expect.arrayContaining(['mini_resnet/guidedgradcam_layer3', 'mini_resnet_bn/guidedgradcam_layer2', 'mini_softmax/guidedgradcam_layer2'])
    )
    expect(manifest('mini_resnet_bn').export.bn_kept).toBe(true)
  })

  it.each(cases)('%s (Pearson r >= 0.999 per signed map, the reference’s targets)', async (_id, name, c) => {
    const { m, runner, out, refs } = await run(name, c)
    // Guided Grad-CAM reads the chosen layer; the others explain the input itself.
    expect(runner.layer).toBe(c.layer ?? 'input')
    out.forEach((r, i) => {
      expect(r.target.index).toBe(m.targets[i])
      expect(r.rawShape).toEqual([64, 64])
      expect(pearson(Array.from(r.raw), Array.from(refs[i])), `image ${i}`).toBeGreaterThanOrEqual(0.999)
    })
    // Signed maps: both signs occur.
    expect(out.some((r) => r.raw.some((v) => v < 0)) && out.some((r) => r.raw.some((v) => v > 0))).toBe(true)
  })

  it('Guided Backprop is not the plain gradient: the override changes the map', async () => {
    const gb = await run('mini_resnet', manifest('mini_resnet').cases.find((c) => c.method === 'guidedbackprop')!)
    // The plain gradient summed over channels, through the true rules (Input x Gradient's graph, x = 1).
    const model = await LoadedModel.open(fixture('models', 'mini_resnet.onnx'))
    const ones = new Float32Array(3 * 64 * 64).fill(1)
    const runner = await CamRunner.create(model, { method: 'inputxgradient', layer: 'auto' })
    try {
      const [plain] = await runner.run([ones], [gb.m.targets[0]])
      const [guided] = await (async () => {
        const r = await CamRunner.create(model, { method: 'guidedbackprop', layer: 'auto' })
        try {
          return await r.run([ones], [gb.m.targets[0]])
        } finally {
          await r.release()
        }
      })()
      expect(Math.abs(pearson(Array.from(plain.raw), Array.from(guided.raw)))).toBeLessThan(0.9)
      expect(guided.warnings).toBeUndefined()
    } finally {
      await runner.release()
    }
  })

  it('a model without Relu (MobileNetV2: Clip, ReLU6) gets the plain gradient, and each result says so', async () => {
    const model = await LoadedModel.open(fixture('models', 'mini_mobilenet_v2.onnx'))
    expect(model.index.nodes.some((n) => n.opType === 'Relu')).toBe(false)
    const [c, h, w] = model.inputChw
    // At x = 1 everywhere Input x Gradient is the plain gradient summed over channels, as Guided Backprop's map is.
    const ones = new Float32Array(c * h * w).fill(1)
    const maps = async (method: CamMethodId) => {
      const r = await CamRunner.create(model, { method, layer: 'auto' })
      try {
        return (await r.run([ones], [0]))[0]
      } finally {
        await r.release()
      }
    }
    const guided = await maps('guidedbackprop')
    const plain = await maps('inputxgradient')
    expect(guided.warnings?.join(' ')).toMatch(/no Relu node .* the map is the plain gradient/)
    expect(plain.warnings).toBeUndefined()
    let scale = 0
    let diff = 0
    guided.raw.forEach((v, i) => {
      scale = Math.max(scale, Math.abs(plain.raw[i]))
      diff = Math.max(diff, Math.abs(v - plain.raw[i]))
    })
    expect(scale).toBeGreaterThan(0)
    expect(diff).toBeLessThan(1e-5 * scale)
  })
})

describe('nearest upsampling as PyTorch’s F.interpolate(mode="nearest")', () => {
  it('repeats each cell at an integer ratio, and takes floor(dst * in / out) otherwise', () => {
    expect(Array.from(upsampleNearest(Float32Array.from([1, 2, 3, 4]), 2, 2, 4, 4))).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    // torch.nn.functional.interpolate(torch.arange(3.).view(1, 1, 1, 3), size=(1, 7), mode='nearest') -> 0 0 0 1 1 2 2
    expect(Array.from(upsampleNearest(Float32Array.from([0, 1, 2]), 1, 3, 1, 7))).toEqual([0, 0, 0, 1, 1, 2, 2])
  })
})

describe('cli cam --method guidedbackprop / guidedgradcam', () => {
  const exec = promisify(execFile)
  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
  const model = fixture('models', 'mini_resnet.onnx')
  const input = fixture('cam', 'mini_resnet', 'input_0.npy')

  it('writes signed input-size maps; Guided Grad-CAM records the layer it read, and refuses a bad one naming it', async () => {
    const ref = manifest('mini_resnet')
    for (const [method, layer] of [['guidedbackprop', null], ['guidedgradcam', 'layer3']] as const) {
      const out = tempDir()
      await exec(tsx, ['src/main/cli.ts', 'cam', '--model', model, '--images', input, '--out', out, '--method', method, ...(layer ? ['--layer', layer] : [])], { cwd: ROOT })
      const [rec] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))
      const c = ref.cases.find((x) => x.method === method && (!layer || x.id.endsWith(layer)))!
      expect(rec).toMatchObject({ ok: true, method, layer: c.layer ?? 'input', rawShape: [64, 64] })
      expect(rec.rawMin).toBeLessThan(0)
      expect(rec.rawMax).toBeGreaterThan(0)
      const raw = decodeNpy(readFileSync(join(out, `input_0.${method}.raw.npy`)))
      const want = (await readNpy(join(ROOT_FIXTURES, 'mini_resnet', c.map))).data.subarray(0, 64 * 64)
      expect(pearson(Array.from(raw.data), Array.from(want))).toBeGreaterThanOrEqual(0.999)
    }
    const bad = await exec(tsx, ['src/main/cli.ts', 'cam', '--model', model, '--images', input, '--out', tempDir(), '--method', 'guidedgradcam', '--layer', 'nosuchlayer'], { cwd: ROOT }).catch((e) => e)
    // As Grad-CAM refuses it: exit 1, the flag and the layer named.
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/--layer: No layer "nosuchlayer"/)
  }, 120_000)
})
