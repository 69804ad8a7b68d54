import { describe, expect, it } from 'vitest'
import { routeAppRequest } from '../../src/main/electron/app-routes'
import { guardContents, guardSession, type GuardedContents } from '../../src/main/electron/lockdown'

/** A stand-in WebContents that records the handlers the guard installs (Electron cannot run here). */
function fakeContents() {
  const listeners = new Map<string, (event: { preventDefault(): void; url?: string }, url?: string) => void>()
  let openHandler: ((d: { url: string }) => { action: string }) | null = null
  const contents = {
    setWindowOpenHandler: (h: (d: { url: string }) => { action: string }) => (openHandler = h),
    on: (name: string, l: (event: { preventDefault(): void; url?: string }, url?: string) => void) => listeners.set(name, l)
  } as unknown as GuardedContents
  const prevented = (name: string, url: string, inEvent = false) => {
    let stopped = false
    const event = { preventDefault: () => (stopped = true), ...(inEvent ? { url } : {}) }
    listeners.get(name)!(event, inEvent ? undefined : url)
    return stopped
  }
  return { contents, listeners, open: (url: string) => openHandler!({ url }), prevented }
}

describe('Electron lockdown', () => {
  it('denies window.open for every URL, https included, and hands nothing to the OS', () => {
    const f = fakeContents()
    guardContents(f.contents, () => ['metascope://app'])
    for (const url of ['https://evil.example', 'http://127.0.0.1:9999', 'file:///etc/passwd', 'metascope://app/x']) expect(f.open(url)).toEqual({ action: 'deny' })
  })

  it('keeps navigation, redirects and frame navigation on our origins', () => {
    const f = fakeContents()
    guardContents(f.contents, () => ['metascope://app'])
    expect([...f.listeners.keys()].sort()).toEqual(['will-attach-webview', 'will-frame-navigate', 'will-navigate', 'will-redirect'])
    for (const name of ['will-navigate', 'will-redirect']) {
      expect(f.prevented(name, 'https://evil.example/')).toBe(true)
      expect(f.prevented(name, 'metascope://app/index.html')).toBe(false)
    }
    // will-frame-navigate carries the URL on the event.
    expect(f.prevented('will-frame-navigate', 'https://evil.example/', true)).toBe(true)
    expect(f.prevented('will-frame-navigate', 'metascope://app/', true)).toBe(false)
    expect(f.prevented('will-attach-webview', 'x')).toBe(true)
  })

  it('refuses permission requests and permission checks', () => {
    let request: ((wc: unknown, p: string, cb: (g: boolean) => void) => void) | null = null
    let check: ((wc: unknown, p: string) => boolean) | null = null
    guardSession({ setPermissionRequestHandler: (h) => (request = h), setPermissionCheckHandler: (h) => (check = h) })
    let granted: boolean | null = null
    request!(null, 'media', (g) => (granted = g))
    expect(granted).toBe(false)
    expect(check!(null, 'clipboard-read')).toBe(false)
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
