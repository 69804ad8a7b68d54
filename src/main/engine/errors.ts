import { basename } from 'node:path'
import { ApiError } from '../../shared/errors'

/**
 * The argument that names a file of this kind, where a user gives one: its errors name that field, so
 * each front end phrases them (the UI in its language by `errors.<field>.<constraint>`, the CLI by flag).
 */
const FIELD_OF: Record<string, string> = { model: 'modelPath', image: 'paths', labels: 'labelsPath' }

/** The details of an error about a file of kind `what`: its field (if users name such files), the rule, the file's name. */
export function fileDetails(what: string, path: string, constraint: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const field = FIELD_OF[what]
  return { ...(field ? { field } : {}), constraint, file: basename(path), ...extra }
}

/** Maps a Node file-system error to an ApiError that names the file and says what went wrong. */
export function fileError(err: NodeJS.ErrnoException, path: string, what: string): ApiError {
  switch (err.code) {
    case 'ENOENT':
      return new ApiError('not-found', `The ${what} file ${path} does not exist.`, path, fileDetails(what, path, 'not-found', { path }))
    case 'EACCES':
    case 'EPERM':
      return new ApiError('bad-file', `The ${what} file ${path} cannot be read (permission denied).`, path, fileDetails(what, path, 'permission', { path }))
    case 'EISDIR':
      return new ApiError('bad-file', `${path} is a folder, not a ${what} file.`, path, fileDetails(what, path, 'folder', { path }))
    default:
      return new ApiError('bad-file', `Could not read the ${what} file ${basename(path)}: ${err.message}`, path, fileDetails(what, path, 'unreadable', { reason: err.message }))
  }
}
