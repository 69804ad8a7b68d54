import { describe, expect, it } from 'vitest'
import { routeAppRequest } from '../../src/main/electron/app-routes'
import { guardContents, guardSession, hardenApp, isBlockedRequest, NETWORK_URL_PATTERNS, type GuardedContents, type GuardedSession } from '../../src/main/electron/lockdown'
import { APP_ENTRY } from '../../src/main/electron/window-options'

/** A stand-in WebContents that records the handlers the guard installs (Electron cannot run here). */
function fakeContents() {
  const listeners = new Map<string, (event: { preventDefault(): void; url?: string }, url?: string) => void>()
  let openHandler: ((d: { url: string }) => { action: string }) | null = null
  const downloads: string[] = []
  const contents = {
    setWindowOpenHandler: (h: (d: { url: string }) => { action: string }) => (openHandler = h),
    on: (name: string, l: (event: { preventDefault(): void; url?: string }, url?: string) => void) => listeners.set(name, l),
    downloadURL: (url: string) => downloads.push(url)
  } as unknown as GuardedContents
  const prevented = (name: string, url: string, inEvent = false) => {
    let stopped = false
    const event = { preventDefault: () => (stopped = true), ...(inEvent ? { url } : {}) }
    listeners.get(name)!(event, inEvent ? undefined : url)
    return stopped
  }
  return { contents, listeners, downloads, open: (url: string) => openHandler!({ url }), prevented }
}

/** A stand-in session that records the handlers and the request filter the guard installs. */
function fakeSession() {
  const out: {
    request?: (wc: unknown, p: string, cb: (g: boolean) => void) => void
    check?: (wc: unknown, p: string) => boolean
    filter?: { urls: string[] }
    listener?: (details: { url: string }, cb: (r: { cancel: boolean }) => void) => void
  } = {}
  const session: GuardedSession = {
    setPermissionRequestHandler: (h) => (out.request = h),
    setPermissionCheckHandler: (h) => (out.check = h),
    webRequest: { onBeforeRequest: (filter, listener) => Object.assign(out, { filter, listener }) }
  }
  const cancelled = (url: string) => {
    let answer: boolean | null = null
    out.listener!({ url }, (r) => (answer = r.cancel))
    return answer
  }
  return Object.assign(out, { session, cancelled })
}

describe('Electron lockdown', () => {
  it('denies window.open for every URL, https included, and hands nothing to the OS', () => {
    const f = fakeContents()
    guardContents(f.contents, () => [APP_ENTRY])
    for (const url of ['https://evil.example', 'http://127.0.0.1:9999', 'file:///etc/passwd', 'metascope://app/x']) expect(f.open(url)).toEqual({ action: 'deny' })
  })

  it('keeps navigation, redirects and frame navigation on the app\'s entry page', () => {
    const f = fakeContents()
    guardContents(f.contents, () => [APP_ENTRY])
    expect([...f.listeners.keys()].sort()).toEqual(['will-attach-webview', 'will-frame-navigate', 'will-navigate', 'will-redirect'])
    for (const name of ['will-navigate', 'will-redirect']) {
      expect(f.prevented(name, 'https://evil.example/')).toBe(true)
      expect(f.prevented(name, 'metascope://app/index.html')).toBe(false)
      expect(f.prevented(name, 'metascope://app/index.html#/audit')).toBe(false)
      // The app's origin, but a user's file: never a page to show (nor one the IPC guard trusts).
      expect(f.prevented(name, 'metascope://app/files/abc')).toBe(true)
      expect(f.prevented(name, 'metascope://app/thumbs/abc?size=64')).toBe(true)
    }
    // will-frame-navigate carries the URL on the event; a frame never shows a user file either.
    expect(f.prevented('will-frame-navigate', 'https://evil.example/', true)).toBe(true)
    expect(f.prevented('will-frame-navigate', 'metascope://app/files/abc', true)).toBe(true)
    expect(f.prevented('will-frame-navigate', 'metascope://app/index.html', true)).toBe(false)
    expect(f.prevented('will-attach-webview', 'x')).toBe(true)
  })

  it('trusts the dev server\'s page only when it is listed (npm run dev)', () => {
    const f = fakeContents()
    guardContents(f.contents, () => [APP_ENTRY, 'http://localhost:5173/'])
    expect(f.prevented('will-navigate', 'http://localhost:5173/')).toBe(false)
    expect(f.prevented('will-navigate', 'http://localhost:5173/@fs/etc/passwd')).toBe(true)
  })

  it('saves a link to one of the app\'s downloads instead of navigating to it', () => {
    const f = fakeContents()
    guardContents(f.contents, () => [APP_ENTRY, 'http://localhost:5173/'])
    expect(f.prevented('will-navigate', 'metascope://app/downloads/d1')).toBe(true)
    expect(f.downloads).toEqual(['metascope://app/downloads/d1'])
    // A redirect to a download, or any other URL, is only refused.
    expect(f.prevented('will-redirect', 'metascope://app/downloads/d2')).toBe(true)
    expect(f.prevented('will-navigate', 'https://evil.example/downloads/d3')).toBe(true)
    expect(f.downloads).toEqual(['metascope://app/downloads/d1'])
  })

  it('refuses permission requests and permission checks', () => {
    const s = fakeSession()
    guardSession(s.session)
    let granted: boolean | null = null
    s.request!(null, 'media', (g) => (granted = g))
    expect(granted).toBe(false)
    expect(s.check!(null, 'clipboard-read')).toBe(false)
  })

  it('cancels every http(s) and ws(s) request from the renderer, but the dev server\'s in npm run dev', () => {
    const packaged = fakeSession()
    guardSession(packaged.session, null)
    expect(packaged.filter).toEqual({ urls: NETWORK_URL_PATTERNS })
    for (const url of ['https://evil.example/x', 'http://127.0.0.1:8080/api', 'ws://localhost:5173/', 'wss://evil.example/s']) expect(packaged.cancelled(url)).toBe(true)
    const dev = fakeSession()
    guardSession(dev.session, 'http://localhost:5173/')
    expect(dev.cancelled('http://localhost:5173/src/main.ts')).toBe(false)
    expect(dev.cancelled('ws://localhost:5173/')).toBe(false)
    expect(dev.cancelled('http://localhost:5174/')).toBe(true)
    expect(dev.cancelled('https://evil.example/')).toBe(true)
    // The app's own scheme never goes through the network filter's cancel.
    expect(isBlockedRequest('metascope://app/index.html', null)).toBe(false)
    expect(isBlockedRequest('not a url', null)).toBe(true)
  })

  it('sandboxes every renderer before the app is ready', () => {
    let calls = 0
    hardenApp({ enableSandbox: () => calls++ })
    expect(calls).toBe(1)
  })
})

describe('metascope://app routes', () => {
  const dir = '/opt/metascope/renderer'
  it('routes assets, files and thumbnails', () => {
    expect(routeAppRequest('metascope://app/', dir)).toEqual({ kind: 'asset', path: `${dir}/index.html` })
    expect(routeAppRequest('metascope://app/assets/x.js', dir)).toEqual({ kind: 'asset', path: `${dir}/assets/x.js` })
    expect(routeAppRequest('metascope://app/files/abc', dir)).toEqual({ kind: 'file', imageId: 'abc' })
    expect(routeAppRequest('metascope://app/thumbs/abc?size=64', dir)).toEqual({ kind: 'thumb', imageId: 'abc', size: '64' })
  })

  it('refuses bad percent-escapes, other hosts and escapes from the renderer folder, without throwing', () => {
    expect(routeAppRequest('metascope://app/%', dir)).toEqual({ kind: 'refused', status: 400 })
    expect(routeAppRequest('metascope://app/files/%E0%A4%A', dir)).toEqual({ kind: 'refused', status: 400 })
    expect(routeAppRequest('metascope://evil/index.html', dir)).toEqual({ kind: 'refused', status: 404 })
    // Encoded ../ cannot climb out: the path is normalised under the renderer folder.
    expect(routeAppRequest('metascope://app/..%2f..%2fetc%2fpasswd', dir)).toEqual({ kind: 'asset', path: `${dir}/etc/passwd` })
  })
})
