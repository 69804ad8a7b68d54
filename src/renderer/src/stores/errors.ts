import { toErrorShape, type ApiErrorShape } from '../../../shared/errors'

/** Every store keeps errors in the wire shape, so components render them one way. */
export function asError(err: unknown): ApiErrorShape {
  return toErrorShape(err)
}
