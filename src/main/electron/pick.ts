import { dialog, type BrowserWindow } from 'electron'
import type { PickKind } from '../../shared/client'
import { openDialogOptions } from './pick-options'

export type { PickKind }

export async function pickPaths(win: BrowserWindow, kind: PickKind): Promise<string[]> {
  const result = await dialog.showOpenDialog(win, openDialogOptions(kind))
  return result.canceled ? [] : result.filePaths
}
