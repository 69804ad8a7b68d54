import { join } from 'node:path'
import { writeNpy } from '../data/npy'
import { loadDisplayImage, type Preprocess } from '../data/preprocess'
import type { ColormapName } from './colormap'
import { encodePng, heatmapPng, overlay } from './overlay'
import type { CamOutcome } from './batch-job'
import { writeFileAtomic } from '../files/safe-write'

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
  await writeFileAtomic(png, await renderCamPng(o.input, o.result.map, [H, W], opts.preprocess.resize, opts.colormap, opts.alpha))
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
