import { stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { ApiError } from '../../../shared/errors'
import { fileDetails, fileError } from '../errors'
import { withDeadline } from './deadline'

/**
 * The stat of a file about to be read, refusing what is not a regular file: reading a FIFO blocks
 * forever and a device such as /dev/zero never ends, so they are refused by type before any open.
 */
export async function regularFile(path: string, what: string): Promise<Stats> {
  const info = await withDeadline(stat(path), path, `Reading the ${what} file`).catch((err: NodeJS.ErrnoException) => {
    throw err instanceof ApiError ? err : fileError(err, path, what)
  })
  if (info.isDirectory()) throw new ApiError('bad-file', `${path} is a folder, not a ${what} file.`, path, fileDetails(what, path, 'folder', { path }))
  if (!info.isFile()) throw new ApiError('bad-file', `${path} is not a regular file (a device, pipe or socket), so it is not read as a ${what} file.`, path, fileDetails(what, path, 'not-regular', { path }))
  return info
}
