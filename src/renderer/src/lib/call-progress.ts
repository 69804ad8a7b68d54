import type { ArgsOf, ResultOf } from '../../../shared/api'
import type { CallProgress } from '../../../shared/events'
import { api } from '../api'

/** The calls that say their phases while they run (not jobs: they answer with their result). */
type PhasedCall = 'models.open' | 'workspace.save' | 'workspace.open'

let calls = 0

/**
 * Makes a call under a fresh progress id and hands its call.progress events to `onProgress` until it
 * answers (events of other calls, and of other windows, are not this call's).
 */
export async function callWithProgress<M extends PhasedCall>(method: M, args: ArgsOf<M>, onProgress: (e: CallProgress) => void): Promise<ResultOf<M>> {
  const progressId = `${Date.now().toString(36)}-${(calls++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`
  const stop = api.onEvent((e) => {
    if (e.type === 'call.progress' && e.callId === progressId) onProgress(e)
  })
  try {
    return await api.call(method, { ...args, progressId })
  } finally {
    stop()
  }
}
