import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
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
  let pngBytes: Buffer
  if (o.input.kind === 'image') {
    const img = await loadDisplayImage(o.input.path, [H, W], opts.preprocess.resize)
    pngBytes = await encodePng(overlay(img.rgb, o.result.map, W, H, { colormap: opts.colormap, alpha: opts.alpha }), W, H)
  } else {
    pngBytes = await heatmapPng(o.result.map, W, H, opts.colormap)
  }
  await writeFile(png, pngBytes)
  return { npy, png, rawNpy }
}

/** Write-then-rename, so a crash never leaves a half-written results file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, path)
}
