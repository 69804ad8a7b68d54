import type { z } from 'zod'
import { ApiError } from '../../../../shared/errors'
import { ADAPT_DEFAULTS, AdaptArgs, ADAPT_METHOD_NAMES, FEWSHOT_METHOD_NAMES, type FewshotMethod } from '../../../../shared/fewshot'
import type { AdaptMethodId } from '../../../../shared/registry/fewshot-methods'
import { validateCall } from '../../../../shared/validate'
import type { AdaptOptions } from './adapt'

/** Methods that adapt the head alone on cached embeddings. */
export const ADAPT_METHODS = ADAPT_METHOD_NAMES
export type AdaptMethod = AdaptMethodId

/** The API's defaults: docs/fewshot.md's inner rate, measured stable on pretrained bodies' features (docs/fewshot-adapt.md). */
export const DEFAULT_INNER_RATE = ADAPT_DEFAULTS.innerRate
export const DEFAULT_STEPS = ADAPT_DEFAULTS.steps
/** Adding classes takes no refinement steps unless asked: the imprinted rows keep the old classes' accuracy best (docs/fewshot-adapt.md). */
export const DEFAULT_ADD_STEPS = ADAPT_DEFAULTS.addSteps

/** An adaptation as the fewshot.adapt call takes it, checked and with the defaults filled in (steps by mode). */
export type AdaptCall = Omit<z.output<typeof AdaptArgs>, 'steps'> & { steps: number }

/**
 * Checks the options with the fewshot.adapt schema itself, so the engine refuses what the API
 * refuses with the same ApiError details (field, constraint). A meta-training method gets its own
 * refusal first: it is a real method, only not one that adapts an imported model.
 */
export function checkAdaptOptions(opts: AdaptOptions): AdaptCall {
  const { batch: _b, onProgress: _p, throwIfCancelled: _c, onStep: _s, ...call } = opts
  if (isFullNetwork(call.method)) refuseFullNetwork(call.method)
  const args = validateCall('fewshot.adapt', call).args as z.output<typeof AdaptArgs>
  return { ...args, steps: args.steps ?? (args.mode === 'add' ? DEFAULT_ADD_STEPS : DEFAULT_STEPS) }
}

function isFullNetwork(method: unknown): method is FewshotMethod {
  return (FEWSHOT_METHOD_NAMES as readonly unknown[]).includes(method) && !(ADAPT_METHODS as readonly unknown[]).includes(method)
}

function refuseFullNetwork(method: FewshotMethod): never {
  throw new ApiError(
    'unsupported',
    `The method ${method} adapts every weight of the network through the unrolled inner loop; adapting an imported model supports the head-only methods ${ADAPT_METHODS.join(', ')}, which run on embeddings computed once (Proto-MAML is the usual choice for a pretrained body).`,
    undefined,
    { field: 'method', constraint: 'head-only', value: method, allowed: [...ADAPT_METHODS] }
  )
}
