import { describe, expect, it, vi } from 'vitest'
import { createCallHandler, isAppPage, isMainFrame, isTrustedSender, type SenderInfo, type TrustPolicy } from '../../src/main/electron/sender-guard'
import { APP_ENTRY, APP_ORIGIN } from '../../src/main/electron/window-options'

const policy: TrustPolicy = { windowIds: new Set([7]), pages: [APP_ENTRY] }
const good: SenderInfo = { webContentsId: 7, frameUrl: `${APP_ORIGIN}/index.html`, isMainFrame: true }

describe('IPC sender validation', () => {
  it('trusts the app window top frame', () => {
    expect(isTrustedSender(good, policy)).toBe(true)
  })

  it.each([
    ['an iframe', { ...good, isMainFrame: false }],
    ['another origin', { ...good, frameUrl: 'https://evil.example/x' }],
    ['a file:// page', { ...good, frameUrl: 'file:///etc/passwd' }],
    ['a destroyed frame', { ...good, frameUrl: undefined }],
    ['a window the app did not create', { ...good, webContentsId: 99 }],
    // Same origin as the app, but a user's file (an SVG or HTML-looking image opened as a page).
    ['a user file on the app origin', { ...good, frameUrl: `${APP_ORIGIN}/files/abc` }],
    ['a thumbnail on the app origin', { ...good, frameUrl: `${APP_ORIGIN}/thumbs/abc?size=64` }],
    ['another asset of the app origin', { ...good, frameUrl: `${APP_ORIGIN}/assets/x.js` }],
    ['the app path on another host of the scheme', { ...good, frameUrl: 'metascope://evil/index.html' }]
  ])('refuses %s', (_name, sender) => {
    expect(isTrustedSender(sender as SenderInfo, policy)).toBe(false)
  })

  it('a handler called from an unexpected frame is refused and never reaches the engine', async () => {
    const target = { call: vi.fn(async () => 'value') }
    const handler = createCallHandler(target, () => policy)
    const result = await handler({ ...good, frameUrl: 'https://evil.example/' }, 'app.info', {})
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(target.call).not.toHaveBeenCalled()
  })
})

describe('the app page and the main frame', () => {
  it('trusts the entry page with any query or fragment, and the dev page only when listed', () => {
    expect(isAppPage(`${APP_ENTRY}#/runs`, [APP_ENTRY])).toBe(true)
    expect(isAppPage(`${APP_ENTRY}?lang=ja`, [APP_ENTRY])).toBe(true)
    expect(isAppPage('http://localhost:5173/', [APP_ENTRY])).toBe(false)
    expect(isAppPage('http://localhost:5173/', [APP_ENTRY, 'http://localhost:5173/'])).toBe(true)
    expect(isAppPage('http://localhost:5173/@fs/etc/passwd', [APP_ENTRY, 'http://localhost:5173/'])).toBe(false)
    expect(isAppPage(undefined, [APP_ENTRY])).toBe(false)
    expect(isAppPage('not a url', [APP_ENTRY])).toBe(false)
  })

  it('a main frame has no parent and is not detached, whatever object stands for it', () => {
    const top = { parent: null, detached: false }
    expect(isMainFrame(top)).toBe(true)
    // A fresh object for the same frame (Electron has changed its caching before): still the main frame.
    expect(isMainFrame({ ...top })).toBe(true)
    expect(isMainFrame({ parent: top, detached: false })).toBe(false)
    expect(isMainFrame({ parent: null, detached: true })).toBe(false)
    expect(isMainFrame(null)).toBe(false)
    expect(isMainFrame(undefined)).toBe(false)
  })
})

describe('IPC argument validation', () => {
  const target = { call: vi.fn(async (method: string) => ({ method })) }
  const handler = createCallHandler(target, () => policy)

  it('forwards a valid call', async () => {
    const result = await handler(good, 'models.open', { path: '/tmp/m.onnx' })
    expect(result).toEqual({ ok: true, value: { method: 'models.open' } })
  })

  it('turns wrong argument types into a typed error, not a crash', async () => {
    const result = await handler(good, 'models.open', { path: 42 })
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.error.code).toBe('invalid-arguments')
      expect(result.error.message).toMatch(/models\.open.*path/)
    }
  })

  it('rejects unknown methods and extra keys', async () => {
    expect(await handler(good, 'fs.readFile', { path: '/etc/passwd' })).toMatchObject({ ok: false, error: { code: 'unknown-method' } })
    expect(await handler(good, 'app.info', { evil: true })).toMatchObject({ ok: false, error: { code: 'invalid-arguments' } })
    expect(await handler(good, { toString: () => 'app.info' }, {})).toMatchObject({ ok: false, error: { code: 'unknown-method' } })
  })

  it('turns an engine failure into a typed error', async () => {
    const failing = createCallHandler({ call: async () => { throw new Error('boom') } }, () => policy)
    expect(await failing(good, 'app.info', {})).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } })
  })
})
