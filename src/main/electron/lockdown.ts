import { originOf } from './sender-guard'

/** The slice of Electron's WebContents the guards use (a test passes a stand-in). */
export interface GuardedContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void
  on(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', listener: (event: { preventDefault(): void; url?: string }, url?: string) => void): void
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): void
}

export interface GuardedSession {
  setPermissionRequestHandler(handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void
  setPermissionCheckHandler(handler: (wc: unknown, permission: string) => boolean): void
}

/**
 * No window.open (the app links nowhere outside itself, so nothing is handed to the OS browser), no
 * navigation, redirect or frame navigation away from our own origins, no webviews, and every
 * permission refused, whether asked for (request) or merely checked (check).
 */
export function guardContents(contents: GuardedContents, origins: () => readonly string[]): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  const stayHome = (event: { preventDefault(): void; url?: string }, url?: string) => {
    if (!origins().includes(originOf(url ?? event.url ?? '') ?? '')) event.preventDefault()
  }
  contents.on('will-navigate', stayHome)
  contents.on('will-redirect', stayHome)
  contents.on('will-frame-navigate', stayHome)
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

export function guardSession(session: GuardedSession): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}
