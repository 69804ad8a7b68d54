import { describe, expect, it } from 'vitest'
import { imputeNoisyLinear, roadCount, roadInput } from '../../src/main/engine/audit/road'
import { mulberry32, relevanceOrder, type Plane } from '../../src/main/engine/audit/pixels'
import { readNpy } from '../../src/main/engine/data/npy'
import { fixture, maxDiff } from '../helpers'

/**
 * The fast paths of ROAD's imputation solver (all channels solved together, the Galerkin multigrid
 * hierarchy, its semi-definite coarsest Cholesky, no coarsening for scattered pixels, NHWC, one
 * channel) against scipy's spsolve on the committed fixture, and against the imputation's own
 * definition (each removed pixel is the weighted mean of its in-image neighbours, Rong et al. 2022)
 * on 224 px planes too large for a committed reference.
 */
const load = async (name: string) => (await readNpy(fixture('audit', name))).data

/** NCHW [C, H, W] -> NHWC [H, W, C]. */
function toNhwc(x: Float32Array, C: number, area: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let c = 0; c < C; c++) for (let p = 0; p < area; p++) out[p * C + c] = x[c * area + p]
  return out
}

/**
 * The largest violation, over removed pixels and channels, of ROAD's defining equation: the value
 * equals sum(w * neighbour) / sum(w) over in-image 8-neighbours (1/6 direct, 1/12 diagonal), written
 * out here from the paper rather than from the solver's matrix.
 */
function definitionError(img: Float32Array, removed: Uint8Array, plane: Plane): number {
  const { height: H, width: W, channels: C } = plane
  const area = H * W
  let worst = 0
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < area; p++) {
      if (!removed[p]) continue
      const y = Math.floor(p / W)
      const x = p % W
      let num = 0
      let den = 0
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((!dy && !dx) || y + dy < 0 || y + dy >= H || x + dx < 0 || x + dx >= W) continue
          const w = dy && dx ? 1 / 12 : 1 / 6
          num += w * img[c * area + (y + dy) * W + x + dx]
          den += w
        }
      }
      worst = Math.max(worst, Math.abs(img[c * area + p] - num / den))
    }
  }
  return worst
}

/** A 224 px RGB image (smooth plus texture) and a Grad-CAM-like map (a bilinear upsampled 7 x 7 grid). */
function scene(seed: number): { x: Float32Array; map: Float32Array } {
  const H = 224
  const rand = mulberry32(seed)
  const g = Array.from({ length: 49 }, () => rand())
  const map = new Float32Array(H * H)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < H; x++) {
      const fy = (y / (H - 1)) * 6
      const fx = (x / (H - 1)) * 6
      const y0 = Math.min(5, Math.floor(fy))
      const x0 = Math.min(5, Math.floor(fx))
      const ty = fy - y0
      const tx = fx - x0
      map[y * H + x] =
        (1 - ty) * ((1 - tx) * g[y0 * 7 + x0] + tx * g[y0 * 7 + x0 + 1]) + ty * ((1 - tx) * g[(y0 + 1) * 7 + x0] + tx * g[(y0 + 1) * 7 + x0 + 1]) + 0.02 * rand()
    }
  }
  const x = Float32Array.from({ length: 3 * H * H }, (_, i) => Math.sin((i % (H * H)) / 300 + i / (H * H)) + 0.3 * (rand() - 0.5))
  return { x, map }
}

describe('ROAD imputation solver paths', () => {
  it('NHWC gives the NCHW imputation (spsolve reference, 48 x 48, 90% removed)', async () => {
    const x = await load('x48.npy')
    const map = await load('map48.npy')
    const nhwc: Plane = { channels: 3, height: 48, width: 48, layout: 'NHWC' }
    const out = roadInput(toNhwc(x, 3, 48 * 48), relevanceOrder(map), roadCount(90, 48 * 48), nhwc, 0, 0)
    expect(maxDiff(out, toNhwc(await load('road48_morf90.npy'), 3, 48 * 48))).toBeLessThan(1e-5)
  })

  it('one channel and two channels are solved as each channel alone (spsolve reference)', async () => {
    const x = await load('x48.npy')
    const ref = await load('road48_lerf50.npy')
    const order = relevanceOrder(await load('map48.npy'), true)
    const area = 48 * 48
    for (const C of [1, 2]) {
      const plane: Plane = { channels: C, height: 48, width: 48, layout: 'NCHW' }
      const out = roadInput(x.slice(0, C * area), order, roadCount(50, area), plane, 0, 0)
      expect(maxDiff(out, ref.slice(0, C * area))).toBeLessThan(1e-5)
    }
  })

  it('224 px, large removed regions (multigrid levels down to a Cholesky solve) satisfy the definition', () => {
    const { x, map } = scene(3)
    const plane: Plane = { channels: 3, height: 224, width: 224, layout: 'NCHW' }
    for (const [ascending, pct] of [
      [false, 90],
      [true, 50],
      [false, 10]
    ] as const) {
      const order = relevanceOrder(map, ascending)
      const removed = new Uint8Array(224 * 224)
      for (let i = 0; i < roadCount(pct, 224 * 224); i++) removed[order[i]] = 1
      const out = imputeNoisyLinear(x, plane, removed, 0, 0)
      expect(definitionError(out, removed, plane)).toBeLessThan(1e-5)
      // Kept pixels are untouched and the removed ones did change.
      let changedKept = 0
      let changedRemoved = 0
      for (let i = 0; i < x.length; i++) {
        if (removed[i % (224 * 224)]) changedRemoved += x[i] !== out[i] ? 1 : 0
        else changedKept += x[i] !== out[i] ? 1 : 0
      }
      expect(changedKept).toBe(0)
      expect(changedRemoved).toBeGreaterThan(0.9 * 3 * roadCount(pct, 224 * 224))
    }
  })

  it('224 px, scattered pixels (no coarse levels) satisfy the definition', () => {
    const { x } = scene(5)
    const plane: Plane = { channels: 3, height: 224, width: 224, layout: 'NCHW' }
    const rand = mulberry32(9)
    for (const share of [0.1, 0.5]) {
      const removed = Uint8Array.from({ length: 224 * 224 }, () => (rand() < share ? 1 : 0))
      const out = imputeNoisyLinear(x, plane, removed, 0, 0)
      expect(definitionError(out, removed, plane)).toBeLessThan(1e-5)
    }
  })
})
