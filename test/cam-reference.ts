import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CamMap } from '../src/main/engine/cam/runner'
import { readNpy } from '../src/main/engine/data/npy'
import type { GraphIndex } from '../src/main/engine/onnx/ir'
import { maxOf } from '../src/shared/stats'
// One Pearson r for the whole project (checked against scipy in test/unit/audit-metrics.test.ts).
import { pearson } from '../src/main/engine/audit/similarity'

export { pearson }

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
  /** PyTorch's own float32 autograd raw map (large models only; scripts/fixtures/add_float32_refs.py). */
  raw_float32?: string
  /** Grad-CAM's sum with every term made positive (large models only; see verify-large-models.ts). */
  scale?: string
  /** 'last': the tensor that feeds the global pool; 'mid': a block about halfway through the net. */
  position?: 'last' | 'mid'
}

/** How make_cam_fixtures.py exported the model (absent in older and large-model manifests). */
export interface ReferenceExport {
  opset: number
  /** torch.onnx TrainingMode: 'EVAL' folds BN into the preceding Conv, 'PRESERVE' keeps BN nodes. */
  training: 'EVAL' | 'PRESERVE'
  bn_kept: boolean
  batchnorm_nodes: number
}

export interface ReferenceManifest {
  dir: string
  name: string
  model: string
  export?: ReferenceExport
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


export const maxAbs = (a: ArrayLike<number>) => maxOf(Array.from(a, Math.abs))

/** The acceptance bounds against a PyTorch reference, shared by the tests and scripts/verify-large-models.ts. */
export const REFERENCE_BOUNDS = {
  /** Pearson r of each full-size map with the reference map, at least. */
  minPearson: 0.999,
  /** Each raw (layer-resolution) map value within rawRel * max|reference raw| + rawAbs of the reference. */
  rawRel: 1e-3,
  rawAbs: 1e-6,
  /** An all-zero reference map (the CAM was negative everywhere) must give a map below this everywhere. */
  zero: 1e-6
} as const

export interface ImageComparison {
  /** Pearson r of the maps (1 or 0 for an all-zero reference: whether ours is all zero too). */
  r: number
  /** max |ours raw - reference raw| / (rawRel * max|reference raw| + rawAbs): the raw bound holds below 1. */
  rawRatio: number
  zeroReference: boolean
  pass: boolean
}

/**
 * One image's map and raw map against the reference: Pearson r >= 0.999 and every raw value within
 * 1e-3 of the reference's scale (+1e-6); an all-zero reference (ReLU left nothing) must give all zeros,
 * not NaN, and has no raw bound (the raw CAM is zero after its ReLU on both sides, up to rounding).
 */
export function compareImage(refMap: ArrayLike<number>, refRaw: ArrayLike<number>, map: ArrayLike<number>, raw: ArrayLike<number>): ImageComparison {
  const b = REFERENCE_BOUNDS
  if (maxAbs(refMap) < b.zero) {
    const zero = maxAbs(map) < b.zero
    return { r: zero ? 1 : 0, rawRatio: 0, zeroReference: true, pass: zero }
  }
  const r = pearson(map, refMap)
  const bound = b.rawRel * maxAbs(refRaw) + b.rawAbs
  let worst = raw.length === refRaw.length ? 0 : Infinity
  for (let p = 0; p < refRaw.length && worst < Infinity; p++) worst = Math.max(worst, Math.abs(raw[p] - refRaw[p]) / bound)
  return { r, rawRatio: worst, zeroReference: false, pass: r >= b.minPearson && worst < 1 }
}

/**
 * Our maps against one reference case: same target class, then compareImage per image (Pearson r >=
 * 0.999 per map, raw maps within 1e-3 of the reference's scale; an all-zero reference must give all
 * zeros, not NaN).
 */
export async function expectMatchesReference(m: ReferenceManifest, c: ReferenceCase, out: CamMap[]): Promise<void> {
  // Imported here, not at the top: scripts/verify-large-models.ts uses this module outside vitest, and
  // vitest cannot be require()d there.
  const { expect } = await import('vitest')
  const refMaps = await loadMaps(m, c.map)
  const refRaw = await loadMaps(m, c.raw)
  out.forEach((r, i) => {
    expect(r.target.index).toBe(c.targets_used[i])
    const cmp = compareImage(refMaps[i], refRaw[i], r.map, r.raw)
    if (cmp.zeroReference) {
      expect(maxAbs(r.map), `${c.id} image ${i}: all-zero reference`).toBeLessThan(REFERENCE_BOUNDS.zero)
      return
    }
    expect(cmp.r, `${c.id} image ${i}: r = ${cmp.r}`).toBeGreaterThanOrEqual(REFERENCE_BOUNDS.minPearson)
    expect(r.raw.length).toBe(refRaw[i].length)
    expect(cmp.rawRatio, `${c.id} image ${i}: raw map off by ${cmp.rawRatio} x the bound`).toBeLessThan(1)
  })
}

/** {op type: count} of the nodes downstream of tensor: the ops its gradient flows back through. */
export function downstreamOps(index: GraphIndex, tensor: string): Map<string, number> {
  const counts = new Map<string, number>()
  const seen = new Set<number>()
  const todo = [tensor]
  while (todo.length) {
    for (const n of index.consumers.get(todo.pop()!) ?? []) {
      if (seen.has(n.index)) continue
      seen.add(n.index)
      counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1)
      todo.push(...n.outputs)
    }
  }
  return counts
}
