import type { OpenDialogOptions } from 'electron'
import type { PickKind } from '../../shared/client'
import { MODEL_EXTENSIONS } from '../../shared/registry/model-formats'

export const PICK_KINDS: readonly PickKind[] = ['model', 'images', 'folder', 'labels', 'output']

/** Whether a value from the renderer names a dialog the app has (IPC arguments are untrusted). */
export function isPickKind(kind: unknown): kind is PickKind {
  return typeof kind === 'string' && (PICK_KINDS as readonly string[]).includes(kind)
}

const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'bmp', 'gif', 'tif', 'tiff']

/**
 * The open dialog for each pick, kept pure so a unit test reads it. A TensorFlow.js model is picked by
 * its model.json (any name); its .bin shards are read from beside it. "output" is where the app writes
 * (an export, a workspace, an audit, an adapted model): one folder, which the dialog may create.
 */
export function openDialogOptions(kind: PickKind): OpenDialogOptions {
  switch (kind) {
    case 'model':
      return { title: 'Open model', properties: ['openFile'], filters: [{ name: `Models (${MODEL_EXTENSIONS.map((e) => `*${e}`).join(', ')})`, extensions: MODEL_EXTENSIONS.map((e) => e.slice(1)) }] }
    case 'labels':
      return { title: 'Open labels', properties: ['openFile'], filters: [{ name: 'Text', extensions: ['txt'] }] }
    case 'folder':
      return { title: 'Add folder of images', properties: ['openDirectory', 'multiSelections'] }
    case 'images':
      return { title: 'Add images', properties: ['openFile', 'multiSelections'], filters: [{ name: 'Images', extensions: IMAGE_EXTENSIONS }] }
    case 'output':
      // createDirectory: macOS's "New Folder" button; promptToCreate: Windows offers to create a typed name.
      return { title: 'Choose output folder', buttonLabel: 'Choose', properties: ['openDirectory', 'createDirectory', 'promptToCreate', 'dontAddToRecent'] }
  }
}
