import type { BrowserWindowConstructorOptions } from 'electron'

/**
 * The main window's options, kept pure so a unit test can assert every security flag without the
 * Electron binary. The renderer gets no Node, runs sandboxed and isolated, and sees only the preload's
 * typed `window.api`. A packaged app has no DevTools: they would let whoever sits at the machine run
 * code in the app's trusted page, with the whole API.
 */
export function mainWindowOptions(preloadPath: string, packaged: boolean): BrowserWindowConstructorOptions {
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
      spellcheck: false,
      devTools: !packaged
    }
  }
}

/** The privileged scheme the renderer and the user's images are served from (never file://). */
export const APP_SCHEME = 'metascope'
export const APP_ORIGIN = `${APP_SCHEME}://app`
export const APP_ENTRY = `${APP_ORIGIN}/index.html`
/**
 * The scheme behaves like https (secure origin, fetch, CSP 'self'); corsEnabled lets the dev server's
 * page (another origin) read the scheme's images under CORS (see app-handler.ts).
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } as const
