import { describe, expect, it, vi } from 'vitest'
import { createCallHandler, isTrustedSender, type SenderInfo, type TrustPolicy } from '../../src/main/electron/sender-guard'
import { APP_ORIGIN } from '../../src/main/electron/window-options'

const policy: TrustPolicy = { windowIds: new Set([7]), origins: [APP_ORIGIN] }
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
    ['a window the app did not create', { ...good, webContentsId: 99 }]
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
