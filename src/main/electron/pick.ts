import { dialog, type BrowserWindow } from 'electron'
import { MODEL_EXTENSIONS } from '../../shared/registry/model-formats'

export type PickKind = 'model' | 'images' | 'folder' | 'labels'

// A TensorFlow.js model is picked by its model.json (any name); its .bin shards are read from beside it.

export async function pickPaths(win: BrowserWindow, kind: PickKind): Promise<string[]> {
  const options: Electron.OpenDialogOptions =
    kind === 'model'
      ? { title: 'Open model', properties: ['openFile'], filters: [{ name: `Models (${MODEL_EXTENSIONS.map((e) => `*${e}`).join(', ')})`, extensions: MODEL_EXTENSIONS.map((e) => e.slice(1)) }] }
      : kind === 'labels'
        ? { title: 'Open labels', properties: ['openFile'], filters: [{ name: 'Text', extensions: ['txt'] }] }
        : kind === 'folder'
          ? { title: 'Add folder of images', properties: ['openDirectory', 'multiSelections'] }
          : {
              title: 'Add images',
              properties: ['openFile', 'multiSelections'],
              filters: [{ name: 'Images', extensions: ['png', 'jpg', 'jpeg', 'webp', 'bmp', 'gif', 'tif', 'tiff'] }]
            }
  const result = await dialog.showOpenDialog(win, options)
  return result.canceled ? [] : result.filePaths
}
