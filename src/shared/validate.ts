import { isMethodName, methods, type MethodName } from './api'
import { ApiError } from './errors'

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
  const parsed = methods[method].args.safeParse(args ?? {})
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(arguments)'}: ${i.message}`)
    throw new ApiError('invalid-arguments', `Invalid arguments for ${method}: ${problems.join('; ')}`, undefined, {
      issues: problems
    })
  }
  return { method, args: parsed.data }
}
