import { isAppDownloadUrl } from './downloads'
import { isAppPage } from './sender-guard'

type NavigationEvent = { preventDefault(): void; url?: string }

/** The slice of Electron's WebContents the guards use (a test passes a stand-in). */
export interface GuardedContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void
  on(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', listener: (event: NavigationEvent, url?: string) => void): void
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void
  downloadURL(url: string): void
}

/** Electron's request filter callback: cancel or let through. */
type RequestCallback = (response: { cancel: boolean }) => void

export interface GuardedSession {
  setPermissionRequestHandler(handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void
  setPermissionCheckHandler(handler: (wc: unknown, permission: string) => boolean): void
  webRequest: {
    onBeforeRequest(filter: { urls: string[] }, listener: (details: { url: string }, callback: RequestCallback) => void): void
  }
}

/**
 * No window.open (the app links nowhere outside itself, so nothing is handed to the OS browser), no
 * navigation, redirect or frame navigation to anything but the app's entry page, no webviews. A link
 * to one of the app's own downloads (`metascope://app/downloads/<id>`, which the dev server's page
 * cannot mark `download` because it is another origin) is saved, never navigated to.
 */
export function guardContents(contents: GuardedContents, pages: () => readonly string[]): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  const stayHome = (download: boolean) => (event: NavigationEvent, url?: string) => {
    const target = url ?? event.url ?? ''
    if (isAppPage(target, pages())) return
    event.preventDefault()
    if (download && isAppDownloadUrl(target)) contents.downloadURL(target)
  }
  contents.on('will-navigate', stayHome(true))
  contents.on('will-redirect', stayHome(false))
  contents.on('will-frame-navigate', stayHome(false))
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/** The network schemes the renderer never needs: the app is served by its own scheme, offline. */
export const NETWORK_URL_PATTERNS = ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*']

/**
 * Whether a renderer request goes nowhere: every http(s) and ws(s) URL, except the dev server's origin
 * in `npm run dev` (its page, modules and hot-reload socket).
 */
export function isBlockedRequest(url: string, devUrl: string | null): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return true
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return false
  if (!devUrl) return true
  const dev = new URL(devUrl)
  const sameHost = u.host === dev.host
  return !(sameHost && (u.protocol === dev.protocol || u.protocol === 'ws:'))
}

/**
 * Every permission refused, whether asked for (request) or merely checked (check), and every request
 * to the network cancelled (a compromised page could otherwise send what it sees anywhere).
 */
export function guardSession(session: GuardedSession, devUrl: string | null = null): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.webRequest.onBeforeRequest({ urls: NETWORK_URL_PATTERNS }, (details, callback) => callback({ cancel: isBlockedRequest(details.url, devUrl) }))
}

/**
 * Before 'ready': every renderer sandboxed, whatever a window's own options say (a window added later
 * without `sandbox: true` would otherwise get a Node-capable preload).
 */
export function hardenApp(app: { enableSandbox(): void }): void {
  app.enableSandbox()
}
