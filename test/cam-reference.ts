import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { CamMap } from '../src/main/engine/cam/runner'
import { readNpy } from '../src/main/engine/data/npy'
import { maxOf } from '../src/shared/stats'

/** A reference case written by scripts/fixtures/make_cam_fixtures.py (PyTorch autograd). */
export interface ReferenceCase {
  id: string
  method: string
  layer_tensor: string
  layer_scope: string
  targets: number[] | null
  targets_used: number[]
  map: string
  raw: string
}

export interface ReferenceManifest {
  dir: string
  name: string
  model: string
  input_size: [number, number]
  inputs: string[]
  logits: number[][]
  cases: ReferenceCase[]
}

export function loadManifests(root: string): ReferenceManifest[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(root, d.name)
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Omit<ReferenceManifest, 'dir' | 'name'>
      return { ...m, dir, name: d.name, model: join(root, '..', m.model) }
    })
}

export async function loadInputs(m: ReferenceManifest): Promise<Float32Array[]> {
  return Promise.all(m.inputs.map(async (f) => (await readNpy(join(m.dir, f))).data))
}

/** Per-image slices of a [B, H, W] reference map file. */
export async function loadMaps(m: ReferenceManifest, file: string): Promise<Float32Array[]> {
  const { shape, data } = await readNpy(join(m.dir, file))
  const per = shape.slice(1).reduce((p, d) => p * d, 1)
  return Array.from({ length: shape[0] }, (_, i) => data.subarray(i * per, (i + 1) * per))
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length
  let ma = 0
  let mb = 0
  for (let i = 0; i < n; i++) {
    ma += a[i]
    mb += b[i]
  }
  ma /= n
  mb /= n
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma
    const y = b[i] - mb
    sab += x * y
    saa += x * x
    sbb += y * y
  }
  return sab / Math.sqrt(saa * sbb)
}

export const maxAbs = (a: ArrayLike<number>) => maxOf(Array.from(a, Math.abs))

/**
 * Our maps against one reference case: same target class, Pearson r >= 0.999 per map, raw maps
 * within 1e-3 of the reference's scale; an all-zero reference (the CAM was negative everywhere, so
 * ReLU left nothing) must give all zeros, not NaN.
 */
export async function expectMatchesReference(m: ReferenceManifest, c: ReferenceCase, out: CamMap[]): Promise<void> {
  const refMaps = await loadMaps(m, c.map)
  const refRaw = await loadMaps(m, c.raw)
  out.forEach((r, i) => {
    expect(r.target.index).toBe(c.targets_used[i])
    if (maxAbs(refMaps[i]) < 1e-6) {
      expect(maxAbs(r.map)).toBeLessThan(1e-6)
      return
    }
    const rr = pearson(r.map, refMaps[i])
    expect(rr, `${c.id} image ${i}: r = ${rr}`).toBeGreaterThanOrEqual(0.999)
    const scale = maxAbs(refRaw[i])
    for (let p = 0; p < refRaw[i].length; p++) expect(Math.abs(r.raw[p] - refRaw[i][p])).toBeLessThan(1e-3 * scale + 1e-6)
  })
}
