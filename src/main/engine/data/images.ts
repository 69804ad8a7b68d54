import { createHmac, randomBytes } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import sharp, { type Metadata } from 'sharp'
import type { ImageEntry, ImagesAddResult } from '../../../shared/api'
import { ApiError, toErrorShape } from '../../../shared/errors'
import { classFolderLabels } from '../../../shared/folder-labels'
import { fileDetails, fileError } from '../errors'
import { RASTER_NAMES, rasterFormat } from './raster'
import { regularFile } from '../files/read'

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif', '.tif', '.tiff', '.avif'])

/** Refuse decompression bombs: more pixels than this is a clear error, not an out-of-memory crash. */
export const MAX_IMAGE_PIXELS = 100_000_000

/**
 * Image ids name files in URLs (/files/<id>, the desktop protocol), so they must not be derivable from
 * a path: an HMAC with a key the host makes once per app session (METASCOPE_ID_KEY, so a restarted
 * engine gives the same ids), or a random one.
 */
const ID_KEY = process.env.METASCOPE_ID_KEY || randomBytes(32).toString('hex')

export function imageId(path: string): string {
  return createHmac('sha256', ID_KEY).update(path).digest('hex').slice(0, 32)
}

/** Expands files and folders (recursively, sorted, hidden entries skipped) into image file paths. */
export async function expandImagePaths(
  paths: string[]
): Promise<{ files: string[]; failed: ImagesAddResult['failed'] }> {
  const files: string[] = []
  const failed: ImagesAddResult['failed'] = []
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) files.push(p)
    }
  }
  for (const raw of paths) {
    const p = resolve(raw)
    try {
      const info = await stat(p)
      if (info.isDirectory()) await walk(p)
      else files.push(p)
    } catch (err) {
      failed.push({ file: p, error: toErrorShape(fileError(err as NodeJS.ErrnoException, p, 'image')) })
    }
  }
  return { files, failed }
}

/** Reads an image's header (not its pixels) to check it is a decodable image and get its size. */
export async function probeImage(path: string): Promise<ImageEntry> {
  const info = await regularFile(path, 'image')
  if (info.size === 0) throw new ApiError('bad-file', `${basename(path)} is empty (0 bytes).`, path, fileDetails('image', path, 'empty'))
  let meta: Metadata
  try {
    meta = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata()
  } catch (err) {
    throw new ApiError('bad-file', `${basename(path)} is not a readable ${RASTER_NAMES} image (${(err as Error).message}).`, path, fileDetails('image', path, 'unreadable', { formats: RASTER_NAMES, reason: (err as Error).message }))
  }
  // Only raster images enter the library: they are served back to the UI with the type they decoded as.
  const format = rasterFormat(meta)
  if (!format) throw new ApiError('bad-file', `${basename(path)} is a ${meta.format ?? 'non-image'} file, not a ${RASTER_NAMES} image.`, path, fileDetails('image', path, 'format', { format: meta.format ?? '?', formats: RASTER_NAMES }))
  if (!meta.width || !meta.height) throw new ApiError('bad-file', `${basename(path)} has no pixel size.`, path, fileDetails('image', path, 'no-size'))
  if (meta.width * meta.height > MAX_IMAGE_PIXELS) {
    throw new ApiError('bad-file', `${basename(path)} is too large (${meta.width}x${meta.height} pixels).`, path, fileDetails('image', path, 'too-large', { width: meta.width, height: meta.height, max: MAX_IMAGE_PIXELS }))
  }
  return {
    id: imageId(path),
    path,
    name: basename(path),
    width: meta.width,
    height: meta.height,
    format,
    bytes: info.size,
    folderLabel: basename(dirname(path)) || null
  }
}

/** The images the user added this session; only these may be served to the renderer. */
export class ImageLibrary {
  private readonly entries = new Map<string, ImageEntry>()

  async add(paths: string[], concurrency = 8): Promise<ImagesAddResult> {
    const { files, failed } = await expandImagePaths(paths)
    const added: ImageEntry[] = new Array(files.length)
    const ok: boolean[] = new Array(files.length).fill(false)
    // Failures by position, so they are reported in the order the files were given, whichever probe ends first.
    const errors: (ImagesAddResult['failed'][number] | undefined)[] = new Array(files.length)
    let next = 0
    const worker = async () => {
      while (next < files.length) {
        const i = next++
        try {
          added[i] = await probeImage(files[i])
          ok[i] = true
        } catch (err) {
          errors[i] = { file: files[i], error: toErrorShape(err) }
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))
    for (const e of errors) if (e) failed.push(e)
    const result = added.filter((_, i) => ok[i])
    for (const e of result) this.entries.set(e.id, e)
    return { added: result, failed }
  }

  list(): ImageEntry[] {
    return [...this.entries.values()]
  }

  /** The folder label of each image that has one (by path), by the rule the UI shows them with. */
  folderLabels(): Map<string, string> {
    return classFolderLabels([...this.entries.values()].map((e) => e.path))
  }

  get(id: string): ImageEntry | undefined {
    return this.entries.get(id)
  }

  remove(ids: string[]): number {
    let n = 0
    for (const id of ids) if (this.entries.delete(id)) n++
    return n
  }
}
