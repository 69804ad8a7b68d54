import { randomUUID } from 'node:crypto'
import { rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { writeNpy } from '../data/npy'
import { loadDisplayImage, type Preprocess } from '../data/preprocess'
import type { ColormapName } from './colormap'
import { encodePng, heatmapPng, overlay } from './overlay'
import type { CamOutcome } from './batch-job'

export interface WriteOptions {
  dir: string
  colormap: ColormapName
  alpha: number
  preprocess: Preprocess
}

/**
 * Writes one input's files as soon as its map exists: <stem>.cam.npy (normalised map at the input
 * size), <stem>.raw.npy (raw map at layer resolution) and <stem>.png (overlay on the image as the
 * model saw it; the map alone for tensor inputs).
 */
export async function writeCamFiles(o: Extract<CamOutcome, { ok: true }>, opts: WriteOptions): Promise<{ npy: string; png: string; rawNpy: string }> {
  const [H, W] = opts.preprocess.size
  const npy = join(opts.dir, `${o.input.stem}.cam.npy`)
  const rawNpy = join(opts.dir, `${o.input.stem}.raw.npy`)
  const png = join(opts.dir, `${o.input.stem}.png`)
  await writeNpy(npy, [H, W], o.result.map)
  await writeNpy(rawNpy, o.result.rawShape, o.result.raw)
  await writeFile(png, await renderCamPng(o.input, o.result.map, [H, W], opts.preprocess.resize, opts.colormap, opts.alpha))
  return { npy, png, rawNpy }
}

/** The PNG for one map: overlaid on the image as the model saw it, or the map alone for a tensor input. */
export async function renderCamPng(
  input: { path: string; kind: 'image' | 'tensor' },
  map: Float32Array,
  [H, W]: [number, number],
  resize: Preprocess['resize'],
  colormap: ColormapName,
  alpha: number
): Promise<Buffer> {
  if (input.kind === 'tensor') return heatmapPng(map, W, H, colormap)
  const img = await loadDisplayImage(input.path, [H, W], resize)
  return encodePng(overlay(img.rgb, map, W, H, { colormap, alpha }), W, H)
}

/** Names made unique in order of appearance: the second "cat" becomes "cat-2". */
export function uniqueNamer(): (base: string) => string {
  const used = new Map<string, number>()
  return (base) => {
    const n = (used.get(base) ?? 0) + 1
    used.set(base, n)
    return n === 1 ? base : `${base}-${n}`
  }
}

const queues = new Map<string, Promise<unknown>>()

/**
 * Runs `task` after every earlier task with the same key has finished (the key is dropped once its
 * line is empty): saves to one file or folder happen one after the other, never interleaved.
 */
export function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve()
  const run = previous.then(task, task)
  const tail = run.catch(() => undefined)
  queues.set(key, tail)
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key)
  })
  return run
}

/**
 * Write-then-rename, so a crash never leaves a half-written file. The temporary name is unique per
 * write, and writes to one path are serialized, so concurrent saves never trip over each other's
 * temporary file and the result is always one complete file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return serialized(`file:${resolve(path)}`, async () => {
    const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`
    try {
      await writeFile(tmp, data)
      await rename(tmp, path)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
  })
}
