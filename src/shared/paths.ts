import { z } from 'zod'

/** Longest name one path segment may have on common file systems (bytes of UTF-8). */
const MAX_SEGMENT_BYTES = 255
const MAX_PATH_CHARS = 4096

/** What is wrong with a path's text as a place to write, or null: NUL, an over-long name, an over-long path. */
export function outputPathProblem(path: string): string | null {
  if (path.includes('\0')) return 'contains a NUL character'
  if (path.length > MAX_PATH_CHARS) return `is longer than ${MAX_PATH_CHARS} characters`
  const long = path.split(/[\\/]/).find((s) => new TextEncoder().encode(s).length > MAX_SEGMENT_BYTES)
  if (long) return `has a name longer than ${MAX_SEGMENT_BYTES} bytes (${long.slice(0, 24)}…)`
  return null
}

export const Path = z.string().min(1, 'path must not be empty')

/** A file or folder to write: a non-empty path whose text a file system can take. */
export const OutputPath = Path.superRefine((p, ctx) => {
  const problem = outputPathProblem(p)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})
