import { ApiError, toErrorShape, type CallResult } from '../../shared/errors'
import { validateCall } from '../../shared/validate'

/** What an IPC handler knows about who called it (from IpcMainInvokeEvent), minus Electron types. */
export interface SenderInfo {
  webContentsId: number
  /** URL of the frame that sent the message; undefined when the frame is gone. */
  frameUrl: string | undefined
  /** True when the sending frame is its page's top frame (not an iframe). */
  isMainFrame: boolean
}

export interface TrustPolicy {
  /** webContents ids of windows this app created. */
  windowIds: ReadonlySet<number>
  /** Origins the app's own pages are served from (the custom scheme; the dev server in development). */
  origins: readonly string[]
}

export function originOf(url: string | undefined): string | null {
  if (!url) return null
  try {
    const u = new URL(url)
    // Non-special schemes (metascope:) report origin "null"; compare scheme and host instead.
    return u.origin !== 'null' ? u.origin : `${u.protocol}//${u.host}`
  } catch {
    return null
  }
}

/** Only our own windows' top frames, showing our own pages, may call the API. */
export function isTrustedSender(sender: SenderInfo, policy: TrustPolicy): boolean {
  if (!policy.windowIds.has(sender.webContentsId)) return false
  if (!sender.isMainFrame) return false
  const origin = originOf(sender.frameUrl)
  return origin !== null && policy.origins.includes(origin)
}

export interface CallTarget {
  call(method: string, args: unknown): Promise<unknown>
}

/**
 * The body of the `metascope:call` IPC handler: check the sender, validate the call against the
 * contract, forward it to the engine. Always resolves to a CallResult, so a bad call becomes a typed
 * error in the renderer and never an exception in the main process.
 */
export function createCallHandler(target: CallTarget, policy: () => TrustPolicy) {
  return async (sender: SenderInfo, method: unknown, args: unknown): Promise<CallResult<unknown>> => {
    try {
      if (!isTrustedSender(sender, policy())) {
        throw new ApiError('forbidden', `Refused a call from an untrusted frame (${sender.frameUrl ?? 'unknown'}).`)
      }
      const call = validateCall(method, args)
      return { ok: true, value: await target.call(call.method, call.args) }
    } catch (err) {
      return { ok: false, error: toErrorShape(err) }
    }
  }
}
