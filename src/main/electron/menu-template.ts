import type { MenuItemConstructorOptions } from 'electron'
import type { PickKind } from '../../shared/client'

/** What the File menu's items do (main.ts passes the real dialog; a test passes a recorder). */
export type OpenAction = (kind: PickKind) => () => void

/**
 * The application menu, kept pure so a unit test reads it. On macOS the first menu is the app's own
 * (About, Services, Hide, Quit: the system puts it under the app's name whatever its label), so File
 * comes second there and has no Quit. A packaged app's View menu has no DevTools or reload: DevTools
 * would run code in the trusted page, and a reload loses unsaved work with nothing to gain.
 */
export function menuTemplate(platform: NodeJS.Platform, packaged: boolean, open: OpenAction): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin'
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [
      { label: 'Open Model…', accelerator: 'CmdOrCtrl+O', click: open('model') },
      { label: 'Add Images…', accelerator: 'CmdOrCtrl+I', click: open('images') },
      { label: 'Add Folder…', accelerator: 'CmdOrCtrl+Shift+I', click: open('folder') },
      ...(mac ? [] : [{ type: 'separator' } as const, { role: 'quit' } as const])
    ]
  }
  const view: MenuItemConstructorOptions = packaged
    ? { label: 'View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }] }
    : { role: 'viewMenu' }
  return [...(mac ? [{ role: 'appMenu' } as const] : []), file, { role: 'editMenu' }, view, { role: 'windowMenu' }]
}
