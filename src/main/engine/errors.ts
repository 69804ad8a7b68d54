import { basename } from 'node:path'
import { ApiError } from '../../shared/errors'

/** Maps a Node file-system error to an ApiError that names the file and says what went wrong. */
export function fileError(err: NodeJS.ErrnoException, path: string, what: string): ApiError {
  switch (err.code) {
    case 'ENOENT':
      return new ApiError('not-found', `The ${what} file ${path} does not exist.`, path)
    case 'EACCES':
    case 'EPERM':
      return new ApiError('bad-file', `The ${what} file ${path} cannot be read (permission denied).`, path)
    case 'EISDIR':
      return new ApiError('bad-file', `${path} is a folder, not a ${what} file.`, path)
    default:
      return new ApiError('bad-file', `Could not read the ${what} file ${basename(path)}: ${err.message}`, path)
  }
}
