import { readdir, stat } from 'node:fs/promises'
import { basename, extname, join, relative, resolve } from 'node:path'
import { ApiError } from '../../../../shared/errors'
import { expandImagePaths, IMAGE_EXTENSIONS } from '../../data/images'
import { loadDisplayImage } from '../../data/decode-image'
import { byteDataset, type ClassEntry, type FewshotDataset } from './dataset'
import { checkClassSizes, checkEpisodeClasses, checkEpisodeFeasible } from './episodes'

export interface FolderOptions {
  /** [height, width] every image is stretched to (as the engine's 'stretch' preprocessing). */
  size: [number, number]
  /** 1 = greyscale, 3 = RGB. */
  channels: 1 | 3
  /** When given, the folder must allow these episodes; unreadable images are listed if it does not. */
  need?: { ways: number; shots: number; queries: number }
}

/** Something skipped while loading (an unreadable image, a stray file); `file` is its path. */
export interface FolderWarning {
  file: string
  message: string
}

export interface FolderDataset {
  dataset: FewshotDataset
  warnings: FolderWarning[]
}

interface ClassFiles {
  name: string
  files: string[]
}

/**
 * A labelled folder: one sub-folder per class (the sub-folder's name is the class name), images
 * anywhere below it. Every image is decoded once and kept in memory at the requested size and
 * channels. Unreadable images are skipped with a warning, unless that leaves a class too small for
 * `need`: then the error lists them all, since they are the likely cause.
 */
export async function loadFolderDataset(dir: string, opts: FolderOptions): Promise<FolderDataset> {
  const root = resolve(dir)
  const listed = await listClassFolders(root)
  const loaded = await decodeClasses(root, listed.classes, opts)
  const warnings = [...listed.warnings, ...loaded.warnings]
  if (opts.need) {
    const { ways, shots, queries } = opts.need
    withUnreadable(() => checkEpisodeFeasible({ name: `the folder ${root}`, classes: loaded.dataset.classes }, ways, shots, queries), loaded.warnings)
  }
  return { dataset: loaded.dataset, warnings }
}

/**
 * The support set and the query set as two folders with the same class sub-folders, loaded alike;
 * episode labels index both datasets' classes, which are in the same (sorted) order.
 */
export async function supportQueryFolders(
  supportDir: string,
  queryDir: string,
  opts: FolderOptions
): Promise<{ support: FewshotDataset; query: FewshotDataset; warnings: FolderWarning[] }> {
  const [sRoot, qRoot] = [resolve(supportDir), resolve(queryDir)]
  const [s, q] = await Promise.all([listClassFolders(sRoot), listClassFolders(qRoot)])
  const sNames = new Set(s.classes.map((c) => c.name))
  const qNames = new Set(q.classes.map((c) => c.name))
  const notInQuery = [...sNames].filter((n) => !qNames.has(n))
  const notInSupport = [...qNames].filter((n) => !sNames.has(n))
  if (notInQuery.length || notInSupport.length) {
    const parts = [
      notInQuery.length ? `missing from the query folder: ${notInQuery.join(', ')}` : '',
      notInSupport.length ? `missing from the support folder: ${notInSupport.join(', ')}` : ''
    ].filter(Boolean)
    throw new ApiError(
      'bad-file',
      `The support folder ${sRoot} and the query folder ${qRoot} must have the same class sub-folders; ${parts.join('; ')}.`,
      qRoot,
      { notInQuery, notInSupport }
    )
  }
  const [support, query] = await Promise.all([decodeClasses(sRoot, s.classes, opts), decodeClasses(qRoot, q.classes, opts)])
  const unreadable = [...support.warnings, ...query.warnings]
  if (opts.need) {
    const { ways, shots, queries } = opts.need
    withUnreadable(() => {
      // Shots come from the support folder and queries from the query folder, so each is checked
      // for its own part.
      checkEpisodeClasses({ name: `the support folder ${sRoot}`, classes: support.dataset.classes }, ways, shots, queries)
      checkClassSizes({ name: `the support folder ${sRoot}`, classes: support.dataset.classes }, shots, `${shots}-shot episodes`)
      checkClassSizes({ name: `the query folder ${qRoot}`, classes: query.dataset.classes }, queries, `episodes with ${queries} queries per class`)
    }, unreadable)
  }
  return { support: support.dataset, query: query.dataset, warnings: [...s.warnings, ...q.warnings, ...unreadable] }
}

/** Re-throws a failed check with the unreadable images appended, as they may be why it failed. */
function withUnreadable(check: () => void, unreadable: FolderWarning[]): void {
  try {
    check()
  } catch (err) {
    if (!(err instanceof ApiError) || !unreadable.length) throw err
    const list = unreadable.map((w) => w.message).join('; ')
    throw new ApiError(err.code, `${err.message} ${unreadable.length} image(s) could not be read: ${list}.`, err.file, {
      ...err.details,
      unreadable
    })
  }
}

/** The class sub-folders of `root` with their image files (not decoded), sorted by name; 2+ classes or an error. */
export async function listClassFolders(root: string): Promise<{ classes: ClassFiles[]; warnings: FolderWarning[] }> {
  const info = await stat(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ApiError('not-found', `The dataset folder ${root} does not exist.`, root)
    throw new ApiError('bad-file', `The dataset folder ${root} cannot be read: ${err.message}`, root)
  })
  if (!info.isDirectory()) throw new ApiError('bad-file', `${root} is a file; a dataset is a folder with one sub-folder per class.`, root)
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'))
  entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
  const classes: ClassFiles[] = []
  const warnings: FolderWarning[] = []
  for (const e of entries) {
    const path = join(root, e.name)
    // Follow links, so a class folder may be a symlink to images kept elsewhere.
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(path).then((s) => s.isDirectory(), () => false)))
    if (isDir) {
      const { files, failed } = await expandImagePaths([path])
      classes.push({ name: e.name, files })
      for (const f of failed) warnings.push({ file: f.file, message: f.error.message })
    } else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      warnings.push({ file: path, message: `${e.name} is not inside a class sub-folder and was ignored.` })
    }
  }
  if (!classes.length) {
    throw new ApiError(
      'bad-file',
      `The dataset folder ${root} has no class sub-folders; it needs one sub-folder per class (named after the class) holding that class's images.`,
      root
    )
  }
  if (classes.length === 1) {
    throw new ApiError(
      'bad-file',
      `The dataset folder ${root} has only one class sub-folder (${classes[0].name}); few-shot needs at least 2 classes, one sub-folder each.`,
      root
    )
  }
  return { classes, warnings }
}

async function decodeClasses(root: string, classes: ClassFiles[], opts: FolderOptions, concurrency = 8): Promise<FolderDataset> {
  const [height, width] = opts.size
  // Checked once here, not per file, so a bad size is one error rather than a warning per image.
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1 || height * width > 4096 * 4096) {
    throw new ApiError('invalid-arguments', `The image size ${height}x${width} (height x width) must be two positive whole numbers, at most 4096 x 4096.`)
  }
  if (opts.channels !== 1 && opts.channels !== 3) {
    throw new ApiError('invalid-arguments', `Images can be read with 1 (greyscale) or 3 (RGB) channels, not ${String(opts.channels)}.`)
  }
  const jobs = classes.flatMap((c, label) => c.files.map((file) => ({ file, label })))
  const decoded: (Uint8Array | null)[] = new Array(jobs.length).fill(null)
  const warnings: FolderWarning[] = []
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++
      const { file } = jobs[i]
      try {
        const { rgb } = await loadDisplayImage(file, [height, width], 'stretch')
        decoded[i] = toChannels(rgb, opts.channels)
      } catch (err) {
        if (!(err instanceof ApiError) || (err.code !== 'bad-file' && err.code !== 'not-found')) throw err
        // Name the file by its class folder too: "cat/x.png is not a readable image: ...".
        const rel = relative(root, file)
        const base = basename(file)
        const message = err.message.startsWith(base) ? rel + err.message.slice(base.length) : `${rel}: ${err.message}`
        warnings.push({ file, message })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker))
  warnings.sort((a, b) => a.file.localeCompare(b.file))

  const images: Uint8Array[] = []
  const entries: ClassEntry[] = classes.map((c) => ({ name: c.name, images: [] }))
  jobs.forEach((job, i) => {
    const bytes = decoded[i]
    if (!bytes) return
    entries[job.label].images.push({ index: images.length, rot: 0 })
    images.push(bytes)
  })
  const dataset = byteDataset({
    name: basename(root),
    file: root,
    channels: opts.channels,
    height,
    width,
    classes: entries,
    count: images.length,
    bytes: (i) => images[i]
  })
  return { dataset, warnings }
}

/** Interleaved RGB bytes to CHW planes: 3 planes, or one of luma. */
function toChannels(rgb: Uint8Array, channels: 1 | 3): Uint8Array {
  const pixels = rgb.length / 3
  const out = new Uint8Array(pixels * channels)
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2]]
    if (channels === 1) {
      // PIL's convert('L') in 16-bit fixed point, as the engine's greyscale preprocessing computes it.
      out[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
    } else {
      out[p] = r
      out[pixels + p] = g
      out[2 * pixels + p] = b
    }
  }
  return out
}
