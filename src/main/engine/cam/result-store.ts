import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import type { CamItem, StoredCamItem } from '../../../shared/api'
import sharp from 'sharp'
import { ApiError } from '../../../shared/errors'
import { readNpy, writeNpy } from '../data/npy'
import type { Preprocess } from '../data/preprocess-spec'
import type { CamOutcome } from './batch-job'
import type { ColormapName } from './colormap'
import { recordsToCsv, type CamRecord } from './record'
import { camFileBase, camFiles, renderCamPng } from './writer'
import { uniqueNamer } from '../files/names'
import { prepareOutputDir } from '../files/output-dir'
import { copyFileAtomic, writeFileAtomic } from '../files/safe-write'
import { scratchDir } from '../scratch-dir'
import { maxOf, minOf } from '../../../shared/stats'
import { maskPng } from './mask-png'

interface Stored {
  record: Extract<CamRecord, { ok: true }>
  mapPath: string
  rawPath: string
  kind: 'image' | 'tensor'
  size: [number, number]
  resize: Preprocess['resize']
  /** The job (or saved run) that made it: what a view holds. */
  jobId: string
  /** What it costs to keep: its map files in the scratch folder (none when they live in a workspace) and its record. */
  bytes: number
  /** True when its maps are the engine's own scratch files (deleted on eviction), not a workspace's. */
  scratch: boolean
  /** A segmentation model's predicted mask (mask-png.ts), kept with the record (saved in workspace.json). */
  maskPng?: string
}

/** Memory a kept result's record takes, roughly (its top-5, names, warnings and map keys). */
const RECORD_BYTES = 4096
/** Ids of discarded results remembered for a clear error (older ones then read as never computed). */
const EVICTED_REMEMBERED = 50_000

/** Bytes of finished results kept before the oldest not held by a view are discarded (METASCOPE_RESULT_BUDGET_MB). */
export function resultBudgetBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.METASCOPE_RESULT_BUDGET_MB)
  return (Number.isFinite(mb) && mb > 0 ? mb : 1024) * 1024 * 1024
}

const npyBytes = (values: number) => 128 + 4 * values

/**
 * Keeps every computed map on disk (a per-process cache folder), not in memory, so a session with
 * thousands of results stays small; the UI gets a compact PNG of each map and exports read back
 * the exact float maps.
 */
/** The normalised map as the 8-bit greyscale PNG data URL the UI recolours. */
async function mapPng(map: ArrayLike<number>, H: number, W: number): Promise<string> {
  const grey = Buffer.from(Uint8Array.from(map, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)))
  const png = await sharp(grey, { raw: { width: W, height: H, channels: 1 } }).png().toBuffer()
  return `data:image/png;base64,${png.toString('base64')}`
}

/**
 * Finished results are kept within a byte budget: a client that starts thousands of jobs must not grow
 * the engine's memory and disk without bound. Over budget, the oldest results whose job no open view
 * holds (see hold()) are discarded, their scratch files deleted; asking for one later is a clear
 * 'not-found' saying so. Results a view holds are never discarded: what the user sees stays exportable.
 */
export class CamResultStore {
  // Removed on exit and on SIGTERM/SIGINT; a killed engine's folder is swept by the next engine.
  private readonly dir = scratchDir('results')
  /** In insertion order, so the first unheld entries are the oldest. */
  private readonly results = new Map<string, Stored>()
  private readonly evicted = new Set<string>()
  private readonly heldJobs = new Set<string>()
  private bytes = 0

  constructor(private readonly budget = resultBudgetBytes()) {}

  /** Keeps one result of job `jobId`; `hold`: a view shows it, so it is never discarded until released. */
  async add(o: Extract<CamOutcome, { ok: true }>, record: Extract<CamRecord, { ok: true }>, pre: Preprocess, jobId: string, hold: boolean): Promise<{ id: string; mapPng: string; maskPng?: string }> {
    if (hold) this.heldJobs.add(jobId)
    const id = randomUUID()
    const [H, W] = pre.size
    const mapPath = join(this.dir, `${id}.cam.npy`)
    const rawPath = join(this.dir, `${id}.raw.npy`)
    await writeNpy(mapPath, [H, W], o.result.map)
    await writeNpy(rawPath, o.result.rawShape, o.result.raw)
    const mask = o.result.mask ? await maskPng(o.result.mask) : undefined
    const bytes = npyBytes(H * W) + npyBytes(o.result.raw.length) + RECORD_BYTES + (mask?.length ?? 0)
    this.keep(id, { record, mapPath, rawPath, kind: o.input.kind, size: [H, W], resize: pre.resize, jobId, bytes, scratch: true, ...(mask ? { maskPng: mask } : {}) })
    return { id, mapPng: await mapPng(o.result.map, H, W), ...(mask ? { maskPng: mask } : {}) }
  }

  /** Jobs (or reopened runs) no view shows any more: their results may now be discarded when over budget. */
  release(jobIds: string[] | 'all'): { results: number; bytes: number; budgetBytes: number } {
    if (jobIds === 'all') this.heldJobs.clear()
    else for (const id of jobIds) this.heldJobs.delete(id)
    this.evict()
    return { results: this.results.size, bytes: this.bytes, budgetBytes: this.budget }
  }

  private keep(id: string, s: Stored): void {
    const old = this.results.get(id)
    if (old) this.bytes -= old.bytes
    this.results.set(id, s)
    this.evicted.delete(id)
    this.bytes += s.bytes
    this.evict()
  }

  private evict(): void {
    if (this.bytes <= this.budget) return
    for (const [id, s] of this.results) {
      if (this.bytes <= this.budget) break
      // Held results stay even over budget: what a view shows is the user's, and never lost.
      if (this.heldJobs.has(s.jobId)) continue
      this.results.delete(id)
      this.bytes -= s.bytes
      this.evicted.add(id)
      if (this.evicted.size > EVICTED_REMEMBERED) this.evicted.delete(this.evicted.values().next().value!)
      if (s.scratch) for (const f of [s.mapPath, s.rawPath]) void rm(f, { force: true })
    }
  }

  /** A kept result, or a typed error saying it was never computed here or was discarded. */
  private get(id: string): Stored {
    const s = this.results.get(id)
    if (s) return s
    if (this.evicted.has(id)) {
      throw new ApiError('not-found', `CAM result ${id} was discarded: finished results are kept within ${Math.round(this.budget / (1024 * 1024))} MB (METASCOPE_RESULT_BUDGET_MB), and the oldest that no open view showed went first. Run the method again to recompute it.`, undefined, { resultId: id, reason: 'evicted' })
    }
    throw new ApiError('not-found', `No CAM result ${id} in this session (results are kept until the app closes).`, undefined, { resultId: id })
  }

  /** A result as a workspace keeps it (its maps go to results/); throws when this engine does not hold it. */
  stored(id: string, imageId: string | null): Extract<StoredCamItem, { ok: true }> {
    const s = this.get(id)
    const r = s.record
    const [height, width] = s.size
    return { ok: true, resultId: id, file: r.file, imageId, top5: r.top5, target: r.target, layer: r.layer, method: r.method, provider: r.provider, ms: r.ms, width, height, rawShape: r.rawShape, scoreTensor: r.scoreTensor, warnings: r.warnings, ...(s.maskPng ? { maskPng: s.maskPng } : {}) }
  }

  /**
   * Copies the maps of these results into a workspace's results/ folder (ids are checked UUIDs).
   * `onBytes` hears the bytes copied of the total after each file (a large workspace takes seconds).
   */
  async saveMaps(ids: string[], dir: string, onBytes?: (done: number, total: number) => void): Promise<void> {
    const copies: { from: string; to: string; bytes: number }[] = []
    for (const id of ids) {
      const s = this.get(id)
      for (const [from, name] of [[s.mapPath, `${id}.cam.npy`], [s.rawPath, `${id}.raw.npy`]]) {
        const to = resolve(dir, name)
        // Saving a reopened workspace into its own folder: the maps are already there.
        if (dirname(to) !== resolve(dir) || to === resolve(from)) continue
        // A size that cannot be read counts as nothing: the copy itself then says what is wrong.
        copies.push({ from, to, bytes: onBytes ? ((await stat(from).catch(() => null))?.size ?? 0) : 0 })
      }
    }
    const total = copies.reduce((sum, c) => sum + c.bytes, 0)
    let done = 0
    onBytes?.(0, total)
    for (const c of copies) {
      await copyFileAtomic(c.from, c.to)
      done += c.bytes
      onBytes?.(done, total)
    }
  }

  /**
   * Reopens a result saved as a StoredCamItem: registers its maps in `dir` for exports and rebuilds what
   * the UI shows (the map PNG, the raw values). Returns null when its map files are missing.
   */
  async reopen(item: Extract<StoredCamItem, { ok: true }>, dir: string, runId: string): Promise<Extract<CamItem, { ok: true }> | null> {
    const mapPath = resolve(dir, `${item.resultId}.cam.npy`)
    const rawPath = resolve(dir, `${item.resultId}.raw.npy`)
    if (!existsSync(mapPath) || !existsSync(rawPath)) return null
    const [map, raw] = await Promise.all([readNpy(mapPath), readNpy(rawPath)])
    const full = { ...item, mapPng: await mapPng(map.data as Float32Array, item.height, item.width), raw: Array.from(raw.data as Float32Array) }
    await this.restore(full, dir, runId)
    return full
  }

  /** Registers a result saved in a workspace (run `runId`), so it can be exported again after reopening. */
  async restore(item: Extract<CamItem, { ok: true }>, dir: string, runId: string): Promise<void> {
    const mapPath = join(dir, `${item.resultId}.cam.npy`)
    const rawPath = join(dir, `${item.resultId}.raw.npy`)
    if (!existsSync(mapPath) || !existsSync(rawPath)) return // the export then says the result is missing
    const stem = basename(item.file, extname(item.file))
    const kind = extname(item.file).toLowerCase() === '.npy' ? 'tensor' : 'image'
    const record: Extract<CamRecord, { ok: true }> = {
      file: item.file,
      stem,
      ok: true,
      kind,
      top5: item.top5,
      target: item.target,
      layer: item.layer,
      method: item.method,
      provider: item.provider,
      ms: item.ms,
      rawMin: minOf(item.raw),
      rawMax: maxOf(item.raw),
      rawShape: item.rawShape,
      scoreTensor: item.scoreTensor,
      warnings: item.warnings
    }
    // Reopened to be shown, so held. Its maps are the workspace's files: only the record counts against
    // the budget, and eviction never deletes them.
    this.heldJobs.add(runId)
    this.keep(item.resultId, { record, mapPath, rawPath, kind, size: [item.height, item.width], resize: 'stretch', jobId: runId, bytes: RECORD_BYTES, scratch: false, ...(item.maskPng ? { maskPng: item.maskPng } : {}) })
  }

  /**
   * Writes overlays (PNG), maps (.npy), results.json and results.csv for the given results; `labelOf`
   * gives an image file's folder label (the library knows which images have one).
   */
  async export(ids: string[], dirArg: string, colormap: ColormapName, alpha: number, labelOf: (file: string) => string | null = () => null): Promise<string[]> {
    const chosen = ids.map((id) => this.get(id))
    const dir = await prepareOutputDir(dirArg, 'dir')
    const written: string[] = []
    const records: CamRecord[] = []
    const unique = uniqueNamer()
    for (const s of chosen) {
      // The stem is unique among the chosen results (two runs of one image and method may be exported together).
      const { png: pngPath, npy: npyPath, rawNpy: rawPath } = camFiles(dir, unique(camFileBase(s.record.stem, s.record.method)))
      const map = (await readNpy(s.mapPath)).data
      const png = await renderCamPng({ path: s.record.file, kind: s.kind }, map, s.size, s.resize, colormap, alpha)
      await writeFileAtomic(pngPath, png)
      await copyFileAtomic(s.mapPath, npyPath)
      await copyFileAtomic(s.rawPath, rawPath)
      written.push(pngPath, npyPath, rawPath)
      records.push({ ...s.record, outputs: { png: pngPath, npy: npyPath, rawNpy: rawPath }, label: labelOf(s.record.file) })
    }
    await writeFileAtomic(join(dir, 'results.json'), JSON.stringify(records, null, 1) + '\n')
    await writeFileAtomic(join(dir, 'results.csv'), recordsToCsv(records))
    written.push(join(dir, 'results.json'), join(dir, 'results.csv'))
    return written
  }
}
