import { ApiError } from '../../../shared/errors'

/** How long one file operation of a request may take (METASCOPE_FILE_TIMEOUT_MS, default 60 s). */
export function fileTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.METASCOPE_FILE_TIMEOUT_MS)
  return Number.isFinite(ms) && ms > 0 ? ms : 60_000
}

/**
 * Bounds one file operation in time: a stalled network mount or a special file must not hold a request
 * forever. The operation itself cannot be cancelled; the request answers with a typed error naming the
 * file, and a late result is dropped.
 */
export function withDeadline<T>(op: Promise<T>, path: string, what: string, ms = fileTimeoutMs()): Promise<T> {
  let timer: NodeJS.Timeout
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError('bad-file', `${what} ${path} did not finish within ${Math.round(ms / 1000)} s: the disk may be stalled, or the path is not on an ordinary file system.`, path, { timeoutMs: ms })), ms)
  })
  op.catch(() => undefined)
  return Promise.race([op, late]).finally(() => clearTimeout(timer))
}
