import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { ImageMethodNumbers } from '../../src/shared/audit'
import { faithfulnessTasks } from '../../src/main/engine/audit/faithfulness'
import { blurBaseline, meanBaseline, relevanceOrder, type Plane } from '../../src/main/engine/audit/pixels'
import { roadCount, roadInput } from '../../src/main/engine/audit/road'
import { ForwardScorer } from '../../src/main/engine/model/scorer'
import { spearman, ssim } from '../../src/main/engine/audit/similarity'
import { readNpy } from '../../src/main/engine/data/npy'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { fixture, maxDiff } from '../helpers'

/**
 * The faithfulness metrics against scripts/fixtures/audit_reference.py: numpy written from the
 * papers (RISE deletion/insertion, ROAD's noisy linear imputation solved by scipy's spsolve), with its
 * own numpy forward pass of the committed small_convnet.onnx. Here the same numbers come from the
 * engine's perturbations run through onnxruntime.
 */
const ref = JSON.parse(readFileSync(fixture('audit', 'reference.json'), 'utf8')) as {
  steps: number
  roadPercentiles: number[]
  target: number
  probabilities: number[]
  blur: Record<'deletionCurve' | 'insertionCurve', number[]> & Record<'deletion' | 'insertion', number>
  mean: Record<'deletionCurve' | 'insertionCurve', number[]> & Record<'deletion' | 'insertion', number>
  roadMorf: number[]
  roadLerf: number[]
  confidenceChange: number
  spearman: number
  ssim: number
}
const plane: Plane = { channels: 3, height: 16, width: 16, layout: 'NCHW' }
const load = async (name: string) => (await readNpy(fixture('audit', name))).data

async function measure(baseline: 'blur' | 'mean', batch: number): Promise<ImageMethodNumbers> {
  const model = await LoadedModel.open(fixture('audit', 'small_convnet.onnx'))
  const scorer = await ForwardScorer.create(model, batch)
  const x = await load('x.npy')
  const map = await load('map.npy')
  const out: ImageMethodNumbers = { target: ref.target }
  try {
    const base = baseline === 'blur' ? blurBaseline(x, plane) : meanBaseline(x, plane)
    const settings = { metrics: ['deletion', 'insertion', 'road', 'confidence'] as const, steps: ref.steps, roadPercentiles: ref.roadPercentiles, roadNoise: 0, seed: 0 }
    const tasks = faithfulnessTasks({ x, map, target: ref.target, probability: ref.probabilities[ref.target], path: 'x', method: 'test', baseline: () => base }, { ...settings, metrics: [...settings.metrics] }, plane, out)
    await scorer.score(tasks)
  } finally {
    await scorer.release()
  }
  return out
}

describe('audit faithfulness metrics vs the numpy reference', () => {
  it('blurs as RISE does (11 taps, sigma 5, edges repeated)', async () => {
    expect(maxDiff(blurBaseline(await load('x.npy'), plane), await load('blur.npy'))).toBeLessThan(1e-5)
  })

  it('imputes removed pixels as ROAD does (same system as spsolve, no noise)', async () => {
    const x = await load('x.npy')
    const order = relevanceOrder(await load('map.npy'))
    const imputed = roadInput(x, order, roadCount(50, 256), plane, 0, 0)
    expect(maxDiff(imputed, await load('road_morf50.npy'))).toBeLessThan(1e-5)
    // The kept half is untouched; the removed half really changed.
    let changed = 0
    for (let i = 0; i < x.length; i++) if (x[i] !== imputed[i]) changed++
    expect(changed).toBeGreaterThan(3 * 100)
  })

  it('imputes a 48 x 48 plane (the multigrid-preconditioned path) as spsolve does', async () => {
    const x = await load('x48.npy')
    const map = await load('map48.npy')
    const p48: Plane = { channels: 3, height: 48, width: 48, layout: 'NCHW' }
    const morf = roadInput(x, relevanceOrder(map), roadCount(90, 48 * 48), p48, 0, 0)
    expect(maxDiff(morf, await load('road48_morf90.npy'))).toBeLessThan(1e-5)
    const lerf = roadInput(x, relevanceOrder(map, true), roadCount(50, 48 * 48), p48, 0, 0)
    expect(maxDiff(lerf, await load('road48_lerf50.npy'))).toBeLessThan(1e-5)
  })

  for (const baseline of ['blur', 'mean'] as const) {
    it(`deletion and insertion curves and areas (${baseline} baseline)`, async () => {
      const n = await measure(baseline, 4)
      expect(maxDiff(n.deletionCurve!, ref[baseline].deletionCurve)).toBeLessThan(1e-5)
      expect(maxDiff(n.insertionCurve!, ref[baseline].insertionCurve)).toBeLessThan(1e-5)
      expect(n.deletion).toBeCloseTo(ref[baseline].deletion, 5)
      expect(n.insertion).toBeCloseTo(ref[baseline].insertion, 5)
      // The curves are not flat: the test would notice a metric that ignores the map.
      expect(Math.abs(ref[baseline].deletionCurve[0] - ref[baseline].deletionCurve[ref.steps])).toBeGreaterThan(0.01)
    })
  }

  it('ROAD most- and least-relevant-first, and the confidence change', async () => {
    const n = await measure('blur', 3)
    expect(maxDiff(n.roadMorf!, ref.roadMorf)).toBeLessThan(1e-5)
    expect(maxDiff(n.roadLerf!, ref.roadLerf)).toBeLessThan(1e-5)
    expect(n.confidenceChange).toBeCloseTo(ref.confidenceChange, 5)
  })

  it('gives the same numbers whatever the scorer batch (1 or 7)', async () => {
    const [a, b] = [await measure('blur', 1), await measure('blur', 7)]
    expect(maxDiff(a.deletionCurve!, b.deletionCurve!)).toBeLessThan(1e-6)
    expect(maxDiff(a.roadMorf!, b.roadMorf!)).toBeLessThan(1e-6)
  })

  it('ROAD noise is seeded: the same seed repeats, another seed differs', async () => {
    const x = await load('x.npy')
    const order = relevanceOrder(await load('map.npy'))
    const a = roadInput(x, order, 128, plane, 0.01, 42)
    const b = roadInput(x, order, 128, plane, 0.01, 42)
    const c = roadInput(x, order, 128, plane, 0.01, 43)
    expect(maxDiff(a, b)).toBe(0)
    expect(maxDiff(a, c)).toBeGreaterThan(0.001)
    expect(maxDiff(a, await load('road_morf50.npy'))).toBeLessThan(0.1)
  })

  it('Spearman and SSIM match scipy and skimage', async () => {
    const [a, b] = [await load('map.npy'), await load('map2.npy')]
    expect(spearman(a, b)).toBeCloseTo(ref.spearman, 6)
    expect(ssim(a, b, 16, 16)).toBeCloseTo(ref.ssim, 6)
    expect(spearman(a, a)).toBeCloseTo(1, 12)
    expect(ssim(a, a, 16, 16)).toBeCloseTo(1, 12)
  })
})
