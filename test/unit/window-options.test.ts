import { describe, expect, it } from 'vitest'
import { mainWindowOptions } from '../../src/main/electron/window-options'

describe('main window options', () => {
  const opts = mainWindowOptions('/app/out/preload/index.js', true)
  const web = opts.webPreferences!

  it('has DevTools only outside a packaged app', () => {
    expect(web.devTools).toBe(false)
    expect(mainWindowOptions('/p.js', false).webPreferences!.devTools).toBe(true)
  })

  it('isolates and sandboxes the renderer with no Node', () => {
    expect(web.contextIsolation).toBe(true)
    expect(web.sandbox).toBe(true)
    expect(web.nodeIntegration).toBe(false)
    expect(web.nodeIntegrationInWorker).toBe(false)
    expect(web.nodeIntegrationInSubFrames).toBe(false)
  })

  it('keeps web security on and webviews off', () => {
    expect(web.webSecurity).toBe(true)
    expect(web.allowRunningInsecureContent).toBe(false)
    expect(web.webviewTag).toBe(false)
    expect(web.experimentalFeatures).toBe(false)
    expect(web.navigateOnDragDrop).toBe(false)
  })

  it('loads only the given preload', () => {
    expect(web.preload).toBe('/app/out/preload/index.js')
  })
})
