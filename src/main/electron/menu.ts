import { app, Menu, type BrowserWindow } from 'electron'
import type { PickKind } from '../../shared/client'
import { COMMAND_CHANNEL } from './ipc-channels'
import { menuTemplate } from './menu-template'
import { pickPaths } from './pick'

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
  const template = menuTemplate(process.platform, app.isPackaged, (kind) => () => void open(kind)())
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}
