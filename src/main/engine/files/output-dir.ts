import { lstat, mkdir, realpath, stat, statfs } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { outputPathProblem } from '../../../shared/paths'
import { withDeadline } from './deadline'

/**
 * One check for every call that writes into a folder the user names (workspace.save, cam.export,
 * fewshot.adapt, audit.run, meta-training's checkpoint and model, the CLI's output folder): the path is
 * plausible text, it is or can become an ordinary folder, and it is not on a kernel file system
 * (/proc, /sys, /dev), where Node's own recursive mkdir never returns. Folders are created one level
 * at a time, so nothing loops. Errors are typed and name the field they came from.
 */

/** statfs magic numbers of Linux pseudo file systems nothing should be written to. */
const PSEUDO_FS = new Set([0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x1cd1 /* devpts */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */, 0x64626720 /* debugfs */, 0x73636673 /* securityfs */, 0x74726163 /* tracefs */, 0xcafe4a11 /* bpf */, 0x62656570 /* configfs */, 0x6165676c /* pstore */, 0xde5e81e4 /* efivarfs */])
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev']

const refuse = (field: string, path: string, why: string) => new ApiError('bad-file', `${field}: ${path} ${why}`, path, { field })

/** The path text itself: no NUL, no name longer than a file system allows. Throws 'invalid-arguments'. */
export function checkOutputPathText(path: string, field: string): void {
  const problem = outputPathProblem(path)
  if (problem) throw new ApiError('invalid-arguments', `${field} ${problem}.`, undefined, { field })
}

async function onPseudoFs(existing: string): Promise<boolean> {
  if (process.platform !== 'linux') return false
  const real = await realpath(existing).catch(() => existing)
  if (PSEUDO_ROOTS.some((r) => real === r || real.startsWith(r + '/'))) return true
  const fs = await statfs(real).catch(() => null)
  return fs !== null && PSEUDO_FS.has(Number(fs.type))
}

/**
 * Makes sure `dir` is a folder Metascope may write into, creating it (and missing parents) when
 * needed; returns its absolute path. `field` names the argument or flag for the error.
 */
export async function prepareOutputDir(dirArg: string, field: string): Promise<string> {
  checkOutputPathText(dirArg, field)
  const dir = resolve(dirArg)
  const missing: string[] = []
  let existing = dir
  for (;;) {
    const info = await withDeadline(stat(existing), existing, 'Checking the folder').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null
      if (err.code === 'ENOTDIR') throw refuse(field, dir, 'is inside a file, not a folder.')
      if (err.code === 'ENAMETOOLONG') throw new ApiError('invalid-arguments', `${field} is too long for the file system.`, undefined, { field })
      throw err instanceof ApiError ? err : refuse(field, existing, `cannot be checked (${err.message}).`)
    })
    if (info) {
      if (!info.isDirectory()) throw refuse(field, existing, existing === dir ? 'is a file, not a folder: choose a folder to write into.' : 'is a file, not a folder.')
      break
    }
    missing.push(existing)
    const parent = dirname(existing)
    if (parent === existing) throw refuse(field, dir, 'has no existing folder above it.')
    existing = parent
  }
  if (await onPseudoFs(existing)) throw refuse(field, dir, 'is on a kernel file system (/proc, /sys, /dev): choose an ordinary folder.')
  for (const d of missing.reverse()) {
    await withDeadline(mkdir(d), d, 'Creating the folder').catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' && (await stat(d)).isDirectory()) return
      throw err instanceof ApiError ? err : refuse(field, d, `cannot be created (${err.message}).`)
    })
  }
  return dir
}

/** Like prepareOutputDir for the folder of an output file; the file itself must be absent or a regular file (or a link, which is replaced). */
export async function prepareOutputFile(pathArg: string, field: string): Promise<string> {
  checkOutputPathText(pathArg, field)
  const path = resolve(pathArg)
  await prepareOutputDir(dirname(path), field)
  const info = await lstat(path).catch(() => null)
  if (info && !info.isFile() && !info.isSymbolicLink()) throw refuse(field, path, info.isDirectory() ? 'is a folder, not a file.' : 'is not a regular file (a device, pipe or socket).')
  return path
}

/**
 * A sub-folder Metascope keeps inside a chosen folder (a workspace's results/): created when missing;
 * an existing one must be a real folder, or a link that stays inside the chosen folder.
 */
export async function subfolder(root: string, name: string, field: string): Promise<string> {
  const dir = join(root, name)
  const info = await lstat(dir).catch(() => null)
  if (!info) {
    await withDeadline(mkdir(dir), dir, 'Creating the folder').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err instanceof ApiError ? err : refuse(field, dir, `cannot be created (${err.message}).`)
    })
    return subfolder(root, name, field)
  }
  if (info.isDirectory()) return dir
  if (info.isSymbolicLink()) {
    const [real, realRoot] = await Promise.all([realpath(dir).catch(() => null), realpath(root)])
    if (real && real.startsWith(realRoot + sep) && (await stat(real)).isDirectory()) return dir
    throw refuse(field, dir, `is a link to a place outside ${basename(root)}; Metascope does not write through it. Remove the link or choose another folder.`)
  }
  throw refuse(field, dir, 'is not a folder.')
}
