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
  /**
   * The app's own entry pages (metascope://app/index.html; the dev server's page in development).
   * Pages, not origins: metascope://app/files/<id> shares the entry page's origin but shows a user's file.
   */
  pages: readonly string[]
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

/** A URL as a page: origin and path, without query or fragment (a reload may keep either). */
export function pageOf(url: string | undefined): string | null {
  const origin = originOf(url)
  return origin === null ? null : `${origin}${new URL(url!).pathname}`
}

/** Whether `url` shows one of the app's entry pages (and nothing else of its origin). */
export function isAppPage(url: string | undefined, pages: readonly string[]): boolean {
  const page = pageOf(url)
  return page !== null && pages.some((p) => pageOf(p) === page)
}

/** The slice of Electron's WebFrameMain the main-frame check reads (a test passes fake frames). */
export interface FrameLike {
  readonly parent: unknown
  readonly detached?: boolean
}

/**
 * A top frame still in its page: no parent, not detached. Comparing the frame with
 * `sender.mainFrame` by identity relies on Electron handing out one cached object per frame, which
 * it has changed before.
 */
export function isMainFrame(frame: FrameLike | null | undefined): boolean {
  return !!frame && frame.parent === null && frame.detached !== true
}

/** Only our own windows' top frames, showing the app's entry page, may call the API. */
export function isTrustedSender(sender: SenderInfo, policy: TrustPolicy): boolean {
  if (!policy.windowIds.has(sender.webContentsId)) return false
  if (!sender.isMainFrame) return false
  return isAppPage(sender.frameUrl, policy.pages)
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
