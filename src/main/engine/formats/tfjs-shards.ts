import { realpath, stat } from 'node:fs/promises'
import { basename, isAbsolute, relative, resolve, sep } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileError } from '../errors'

/**
 * Where one weight shard of a model.json is, checked before anything is read: the manifest's path,
 * percent-decoded as tfjs does, must stay inside the model's folder (also after following links) and
 * name a regular file. A manifest is data from whoever made the model; `../../etc/hostname` or
 * `/dev/zero` in it must not make Metascope read outside the folder the user chose.
 */
export async function shardFile(modelPath: string, dir: string, raw: string, field: string): Promise<{ path: string; size: number }> {
  const model = basename(modelPath)
  const refuse = (why: string) => new ApiError('bad-file', `${model}: ${field} (${JSON.stringify(raw)}) ${why}; weight files must sit beside ${model} or in a folder under it.`, modelPath, { field })
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    throw refuse('is not valid percent-encoding')
  }
  if (decoded.includes('\0')) throw refuse('contains a NUL character')
  if (isAbsolute(decoded) || /^[A-Za-z]:|^[\\/]/.test(decoded)) throw refuse('is an absolute path')
  if (decoded.split(/[\\/]/).includes('..')) throw refuse("leaves the model's folder")
  const home = resolve(dir)
  const file = resolve(home, decoded)
  if (relative(home, file).startsWith('..')) throw refuse("leaves the model's folder")
  let real: string
  try {
    real = await realpath(file)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') {
      throw new ApiError('not-found', `The weight file ${raw} that ${model} lists is missing (looked for ${file}); copy it next to ${model}.`, file, { field, constraint: 'missing', model, missing: [decoded] })
    }
    throw fileError(e, file, 'weight')
  }
  const realHome = await realpath(home)
  if (real !== realHome && !real.startsWith(realHome + sep)) throw refuse("is a link to a file outside the model's folder")
  const info = await stat(real).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, file, 'weight')
  })
  if (!info.isFile()) throw refuse(info.isDirectory() ? 'is a folder' : 'is not a regular file (a device, pipe or socket)')
  return { path: real, size: info.size }
}
