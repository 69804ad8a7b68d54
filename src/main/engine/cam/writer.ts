import { join } from 'node:path'
import { camMethodSlug } from '../../../shared/registry/cam-methods'
import { writeNpy } from '../data/npy'
import { loadDisplayImage } from '../data/decode-image'
import type { Preprocess } from '../data/preprocess-spec'
import type { ColormapName } from './colormap'
import { encodePng, heatmapPng, overlay } from './overlay'
import type { CamOutcome } from './batch-job'
import { writeFileAtomic } from '../files/safe-write'

export interface WriteOptions {
  dir: string
  method: string
  colormap: ColormapName
  alpha: number
  preprocess: Preprocess
}

/**
 * The files of one map, named the same by the CLI and by an export from the app: <stem>.<method>.png
 * (overlay on the image as the model saw it; the map alone for tensor inputs), .cam.npy (normalised
 * map at the input size) and .raw.npy (raw map at layer resolution). The method's slug keeps several
 * methods' maps of one image apart in one folder.
 */
export function camFiles(dir: string, base: string): { png: string; npy: string; rawNpy: string } {
  const path = join(dir, base)
  return { png: `${path}.png`, npy: `${path}.cam.npy`, rawNpy: `${path}.raw.npy` }
}

export const camFileBase = (stem: string, method: string) => `${stem}.${camMethodSlug(method)}`

/** Writes one input's files as soon as its map exists. */
export async function writeCamFiles(o: Extract<CamOutcome, { ok: true }>, opts: WriteOptions): Promise<{ npy: string; png: string; rawNpy: string }> {
  const [H, W] = opts.preprocess.size
  const files = camFiles(opts.dir, camFileBase(o.input.stem, opts.method))
  await writeNpy(files.npy, [H, W], o.result.map)
  await writeNpy(files.rawNpy, o.result.rawShape, o.result.raw)
  await writeFileAtomic(files.png, await renderCamPng(o.input, o.result.map, [H, W], opts.preprocess.resize, opts.colormap, opts.alpha))
  return files
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
