import { basename, join, resolve } from 'node:path'
import { ApiError } from '../../../../shared/errors'
import { expandImagePaths } from '../../data/images'
import { loadDisplayImage } from '../../data/decode-image'
import { supportQueryFolders, type FolderWarning } from '../data/folder'
import type { AdaptCall } from './settings'

/** Explicit few-shot sets: each class's support and query image files (the app's few-shot board). */
export type ExplicitSets = NonNullable<AdaptCall['sets']>

/** The support and query image files of each class, in class order. */
export interface SetFiles {
  classes: string[]
  sFiles: string[][]
  qFiles: string[][]
  /** Images skipped because they could not be read. */
  warnings: FolderWarning[]
}

/** The support and query sets an adaptation names: explicit sets, or two class folders. */
export function loadSetFiles(call: Pick<AdaptCall, 'sets' | 'supportDir' | 'queryDir'> & { mode?: AdaptCall['mode'] }): Promise<SetFiles> {
  // The schema holds either `sets` or both folders. Adding classes may add one (explicit sets only:
  // the folder module wants 2+ class folders).
  return call.sets ? explicitSetFiles(call.sets, 8, call.mode === 'add' ? 1 : 2) : folderSetFiles(call.supportDir!, call.queryDir!)
}

/** Each file's class number, in the order of the flattened class lists. */
export function classLabels(files: string[][]): Int32Array {
  return Int32Array.from(files.flatMap((list, n) => list.map(() => n)))
}

/** The image files of each class, in the folder module's order, without the ones it could not read. */
async function classFiles(root: string, classes: string[], unreadable: Set<string>): Promise<string[][]> {
  return Promise.all(classes.map(async (c) => (await expandImagePaths([join(root, c)])).files.filter((f) => !unreadable.has(f))))
}

/** Support and query files from two folders with the same class sub-folders. */
async function folderSetFiles(supportDir: string, queryDir: string): Promise<SetFiles> {
  const [sRoot, qRoot] = [resolve(supportDir), resolve(queryDir)]
  // The folder module checks the two folders (class sub-folders, same names, readable images, at
  // least one image per class); its tiny decode only validates, the model's preprocessing comes next.
  const folders = await supportQueryFolders(sRoot, qRoot, { size: [1, 1], channels: 3, need: { ways: 2, shots: 1, queries: 1 } })
  const classes = folders.support.classes.map((c) => c.name)
  const unreadable = new Set(folders.warnings.map((w) => w.file))
  const [sFiles, qFiles] = await Promise.all([classFiles(sRoot, classes, unreadable), classFiles(qRoot, classes, unreadable)])
  return { classes, sFiles, qFiles, warnings: folders.warnings }
}

/**
 * Explicit sets, checked as the folder module checks folders: 2+ classes with distinct names, every
 * image readable (unreadable ones are skipped with a warning naming the class and file), and at least
 * one support and one query image per class (the error names each short class with its count, and
 * lists the unreadable images, as they may be why). Empty names are the schema's to refuse.
 * `minClasses` is 1 when adding classes to a model (its own classes are the others).
 */
export async function explicitSetFiles(sets: ExplicitSets, concurrency = 8, minClasses = 2): Promise<SetFiles> {
  const classes = sets.classes.map((c) => c.name.trim())
  const seen = new Set<string>()
  for (const name of classes) {
    if (seen.has(name)) throw new ApiError('invalid-arguments', `Two few-shot classes are named "${name}"; give each class its own name.`)
    seen.add(name)
  }
  const jobs = sets.classes.flatMap((c, n) => [...c.support.map((f) => ({ f, n })), ...c.query.map((f) => ({ f, n }))])
  const bad = new Map<string, string>()
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const { f, n } = jobs[next++]
      const file = resolve(f)
      if (bad.has(file)) continue
      try {
        await loadDisplayImage(file, [1, 1], 'stretch')
      } catch (err) {
        if (!(err instanceof ApiError) || (err.code !== 'bad-file' && err.code !== 'not-found')) throw err
        const base = basename(file)
        const rel = `${classes[n]}/${base}`
        bad.set(file, err.message.startsWith(base) ? rel + err.message.slice(base.length) : `${rel}: ${err.message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker))
  const warnings: FolderWarning[] = [...bad].map(([file, message]) => ({ file, message })).sort((a, b) => a.file.localeCompare(b.file))
  const keep = (files: string[]) => files.map((f) => resolve(f)).filter((f) => !bad.has(f))
  const sFiles = sets.classes.map((c) => keep(c.support))
  const qFiles = sets.classes.map((c) => keep(c.query))
  const unreadable = warnings.length ? ` ${warnings.length} image(s) could not be read: ${warnings.map((w) => w.message).join('; ')}.` : ''
  if (classes.length < minClasses) {
    const only = classes.length === 1 ? ` (only "${classes[0]}")` : ''
    const need = minClasses === 1 ? 'adding classes needs at least 1 new class' : 'few-shot needs at least 2 classes'
    throw new ApiError('invalid-arguments', `The few-shot set has ${classes.length} class${classes.length === 1 ? '' : 'es'}${only}; ${need}.`)
  }
  const short = classes.flatMap((name, n) => (sFiles[n].length < 1 || qFiles[n].length < 1 ? [{ name, support: sFiles[n].length, query: qFiles[n].length }] : []))
  if (short.length) {
    const list = short.map((c) => `"${c.name}" has ${c.support} support and ${c.query} query image${c.query === 1 ? '' : 's'}`).join(', ')
    throw new ApiError('out-of-range', `Too few images: class ${list}; every class needs at least 1 support image and 1 query image.${unreadable}`, undefined, {
      needed: { support: 1, query: 1 },
      classes: short,
      ...(warnings.length ? { unreadable: warnings } : {})
    })
  }
  return { classes, sFiles, qFiles, warnings }
}
