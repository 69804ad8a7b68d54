import { Menu, type BrowserWindow } from 'electron'
import { pickPaths, type PickKind } from './pick'
import { COMMAND_CHANNEL } from './ipc-channels'

/**
 * File > Open… picks paths in the main process, then hands them to the renderer, which opens them
 * through the same validated API call as a drop or a button.
 */
export function installMenu(getWindow: () => BrowserWindow | null): void {
  const open = (kind: PickKind) => async () => {
    const win = getWindow()
    if (!win) return
    const paths = await pickPaths(win, kind)
    if (paths.length) win.webContents.send(COMMAND_CHANNEL, { command: 'open-paths', kind, paths })
  }
  const template: Electron.MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Model…', accelerator: 'CmdOrCtrl+O', click: open('model') },
        { label: 'Add Images…', accelerator: 'CmdOrCtrl+I', click: open('images') },
        { label: 'Add Folder…', accelerator: 'CmdOrCtrl+Shift+I', click: open('folder') },
        { type: 'separator' },
        { role: 'quit' }
      ]
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' }
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}
