import { randomUUID } from 'node:crypto'
import { constants } from 'node:fs'
import { copyFile, lstat, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { withDeadline } from './deadline'

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

function writeError(err: NodeJS.ErrnoException, path: string): ApiError {
  if (err instanceof ApiError) return err
  if (err.code === 'ENOENT') return new ApiError('not-found', `Cannot write ${basename(path)}: the folder ${dirname(path)} does not exist.`, path)
  if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') return new ApiError('bad-file', `Cannot write ${path}: permission denied.`, path)
  return new ApiError('bad-file', `Cannot write ${basename(path)}: ${err.message}`, path)
}

/**
 * What may be replaced: nothing there, a regular file, or a link (the rename replaces the link itself,
 * never what it points to). A folder, device, pipe or socket at the destination is refused.
 */
async function checkDestination(path: string): Promise<void> {
  const info = await withDeadline(lstat(path), path, 'Checking').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null
    throw writeError(err, path)
  })
  if (!info || info.isFile() || info.isSymbolicLink()) return
  const kind = info.isDirectory() ? 'a folder' : 'not a regular file (a device, pipe or socket)'
  throw new ApiError('bad-file', `Cannot write ${path}: it is ${kind}, and Metascope only replaces files.`, path)
}

/**
 * Writes a new file under a fresh temporary name (exclusive create: never an existing file, never
 * through a link), then renames it over the destination. A crash never leaves a half-written file, a
 * destination that is a link is replaced rather than followed, and writes to one path are serialized.
 */
async function replaceWith(path: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const full = resolve(path)
  return serialized(`file:${full}`, async () => {
    await checkDestination(full)
    const tmp = `${full}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`
    try {
      await withDeadline(fill(tmp), full, 'Writing')
      await withDeadline(rename(tmp, full), full, 'Writing')
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw writeError(err as NodeJS.ErrnoException, full)
    }
  })
}

export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return replaceWith(path, (tmp) => writeFile(tmp, data, { flag: 'wx' }))
}

/** Copies a file the engine owns to `path` by the same rule (COPYFILE_EXCL: the temporary name is new). */
export function copyFileAtomic(from: string, path: string): Promise<void> {
  return replaceWith(path, (tmp) => copyFile(from, tmp, constants.COPYFILE_EXCL))
}

/**
 * A file to stream into (a log written line by line): whatever was at `path` (a file or a link) is
 * removed first and the new file is created exclusively, so the open never follows a link.
 */
export async function openNewFile(path: string): Promise<FileHandle> {
  const full = resolve(path)
  await checkDestination(full)
  await rm(full, { force: true }).catch((err: NodeJS.ErrnoException) => {
    throw writeError(err, full)
  })
  return withDeadline(open(full, 'wx'), full, 'Creating').catch((err: NodeJS.ErrnoException) => {
    throw writeError(err, full)
  })
}
