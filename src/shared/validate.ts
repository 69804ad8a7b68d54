import { isMethodName, methods, type MethodName } from './api'
import type { z } from 'zod'
import { ApiError } from './errors'

/** zod's issue codes as the constraint names errors carry (details.constraint). */
const CONSTRAINTS: Record<string, string> = { too_small: 'min', too_big: 'max', invalid_format: 'format', invalid_type: 'type', invalid_value: 'enum', unrecognized_keys: 'unknown-keys' }

/**
 * Checks a call at a trust boundary. Throws ApiError('unknown-method' | 'invalid-arguments') with a
 * message a person can act on; returns the parsed (defaulted, stripped) arguments.
 */
export function validateCall(method: unknown, args: unknown): { method: MethodName; args: unknown } {
  if (!isMethodName(method)) {
    throw new ApiError('unknown-method', `Unknown method ${JSON.stringify(method)}.`, undefined, {
      known: Object.keys(methods)
    })
  }
  return { method, args: parseWith(methods[method].args, args ?? {}, `arguments for ${method}`) }
}

/**
 * Parses `args` with `schema`, or throws ApiError('invalid-arguments') naming the first problem's field
 * and rule in `details` (field, constraint, value, min, max), so each front end can say it in its own
 * words: the UI in its language, the CLI as the flag that set it.
 */
export function parseWith<S extends z.ZodType>(schema: S, args: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(args)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(arguments)'}: ${i.message}`)
    const first = parsed.error.issues[0]
    const field = first.path.map(String).join('.')
    const value = first.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), args)
    const bounds = first as { minimum?: unknown; maximum?: unknown; inclusive?: boolean; values?: unknown[] }
    throw new ApiError('invalid-arguments', `Invalid ${what}: ${problems.join('; ')}`, undefined, {
      issues: problems,
      ...(field ? { field, constraint: CONSTRAINTS[first.code] ?? first.code } : {}),
      ...(typeof value === 'string' || typeof value === 'number' ? { value } : {}),
      ...(bounds.minimum !== undefined ? { min: Number(bounds.minimum), inclusive: bounds.inclusive ?? true } : {}),
      ...(bounds.maximum !== undefined ? { max: Number(bounds.maximum) } : {}),
      // An enum's choices, so a front end can list them.
      ...(first.code === 'invalid_value' && Array.isArray(bounds.values) ? { allowed: bounds.values.map(String) } : {})
    })
  }
  return parsed.data
}
