import type { BrowserWindowConstructorOptions } from 'electron'

/**
 * The main window's options, kept pure so a unit test can assert every security flag without the
 * Electron binary. The renderer gets no Node, runs sandboxed and isolated, and sees only the preload's
 * typed `window.api`.
 */
export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1360,
    height: 880,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Metascope',
    backgroundColor: '#1b1d23',
    autoHideMenuBar: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false
    }
  }
}

/** The privileged scheme the renderer and the user's images are served from (never file://). */
export const APP_SCHEME = 'metascope'
export const APP_ORIGIN = `${APP_SCHEME}://app`
export const APP_ENTRY = `${APP_ORIGIN}/index.html`
