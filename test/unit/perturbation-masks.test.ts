import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { windowStarts } from '../../src/main/engine/cam/methods/occlusion'
import { gridSize, maskFromGrid, riseMask, type MaskSpec } from '../../src/main/engine/cam/perturbation/masks'
import { readNpy } from '../../src/main/engine/data/npy'
import { fixture, maxDiff } from '../helpers'

const spec: MaskSpec = { h: 64, w: 64, cellSize: 16, keep: 0.5 }
const mean = (a: Float32Array) => a.reduce((p, v) => p + v, 0) / a.length

describe("RISE's masks", () => {
  it('one seed gives the same masks, another seed or another index different ones', () => {
    expect(Array.from(riseMask(3, 7, spec))).toEqual(Array.from(riseMask(3, 7, spec)))
    expect(Array.from(riseMask(3, 7, spec))).not.toEqual(Array.from(riseMask(4, 7, spec)))
    expect(Array.from(riseMask(3, 7, spec))).not.toEqual(Array.from(riseMask(3, 8, spec)))
  })

  it('are H x W, in [0, 1], and keep a fraction p of the image on average', () => {
    for (const keep of [0.1, 0.5, 0.8]) {
      const s = { ...spec, cellSize: 8, keep }
      let total = 0
      const n = 400
      for (let k = 0; k < n; k++) {
        const m = riseMask(11, k, s)
        expect(m.length).toBe(64 * 64)
        expect(m.every((v) => v >= 0 && v <= 1)).toBe(true)
        total += mean(m)
      }
      // 400 masks of 8 x 8 cells: the mean's standard error is about sqrt(p (1 - p) / 25,600) < 0.004.
      expect(Math.abs(total / n - keep)).toBeLessThan(0.02)
    }
  })

  it('upsample and crop as torch does: the reference masks from their stored grids and shifts', async () => {
    const manifest = JSON.parse(readFileSync(fixture('perturbation', 'manifest.json'), 'utf8'))
    for (const set of Object.values(manifest.mask_sets) as { masks: string; grids: string; shifts: string; cellSize: number; keep: number; size: [number, number] }[]) {
      const s: MaskSpec = { h: set.size[0], w: set.size[1], cellSize: set.cellSize, keep: set.keep }
      const [gh, gw] = gridSize(s)
      const masks = await readNpy(fixture('perturbation', set.masks))
      const grids = await readNpy(fixture('perturbation', set.grids))
      const shifts = await readNpy(fixture('perturbation', set.shifts))
      expect(grids.shape.slice(1)).toEqual([gh, gw])
      for (let k = 0; k < masks.shape[0]; k++) {
        const made = maskFromGrid(grids.data.subarray(k * gh * gw, (k + 1) * gh * gw), shifts.data[2 * k], shifts.data[2 * k + 1], s)
        expect(maxDiff(made, masks.data.subarray(k * s.h * s.w, (k + 1) * s.h * s.w))).toBeLessThan(1e-6)
      }
    }
  })
})

describe("Occlusion's windows", () => {
  it("start as Captum's do: ceil((side - window) / stride) + 1 starts, the last one cut at the edge", () => {
    expect(windowStarts(64, 8, 4)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56])
    // (64 - 12) / 8 = 6.5: 8 starts, the last at 56 covering 56..63 only.
    expect(windowStarts(64, 12, 8)).toEqual([0, 8, 16, 24, 32, 40, 48, 56])
    expect(windowStarts(64, 64, 1)).toEqual([0])
  })
})
