import { z } from 'zod'

/**
 * Every failure that crosses a process or transport boundary is one of these codes. The renderer
 * switches on `code`; `message` is for people and names the file (also in `file`) when one is involved.
 */
export const ErrorCode = z.enum([
  'unknown-method',
  'invalid-arguments',
  'not-found',
  'bad-file',
  'unsupported',
  'out-of-range',
  'cancelled',
  'engine-unavailable',
  /** Too much work already waiting (the job queue is full): try again later. */
  'busy',
  'forbidden',
  'internal'
])
export type ErrorCode = z.infer<typeof ErrorCode>

export const ApiErrorShape = z.object({
  code: ErrorCode,
  message: z.string(),
  file: z.string().optional(),
  /**
   * Extra machine-readable context, e.g. close matches for an unknown layer name. An error about one
   * argument names it: `field` (the API's argument name, e.g. innerRate), `constraint` (the rule it
   * breaks, e.g. min, format, required) and the values the words need (value, min, max, ...). The
   * engine's message is plain English; the CLI says the field as its flag and the UI in its own words.
   */
  details: z.record(z.string(), z.unknown()).optional()
})
export type ApiErrorShape = z.infer<typeof ApiErrorShape>

/** Thrown anywhere on the main side; serialised as ApiErrorShape at the boundary. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly file?: string,
    readonly details?: Record<string, unknown>
  ) {
    super(message)
    this.name = 'ApiError'
  }

  toJSON(): ApiErrorShape {
    return {
      code: this.code,
      message: this.message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.details !== undefined ? { details: this.details } : {})
    }
  }

  static from(shape: ApiErrorShape): ApiError {
    return new ApiError(shape.code, shape.message, shape.file, shape.details)
  }
}

/** How a failed allocation reads (onnxruntime, V8's array buffers, the OS): such an error says so by its constraint, for the UI's words. */
const OUT_OF_MEMORY = /bad_alloc|Failed to allocate|out of memory|Cannot allocate memory|ENOMEM|Array buffer allocation failed/i

/** Turns anything thrown into the wire shape, so no raw stack or Error object leaks to the UI. */
export function toErrorShape(err: unknown): ApiErrorShape {
  if (err instanceof ApiError) return err.toJSON()
  const parsed = ApiErrorShape.safeParse(err)
  if (parsed.success) return parsed.data
  const message = err instanceof Error ? err.message : String(err)
  return OUT_OF_MEMORY.test(message) ? { code: 'internal', message, details: { constraint: 'out-of-memory' } } : { code: 'internal', message }
}

export type CallResult<T> = { ok: true; value: T } | { ok: false; error: ApiErrorShape }
