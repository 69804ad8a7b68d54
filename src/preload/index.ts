import { contextBridge, ipcRenderer, webUtils } from 'electron'
import type { PickKind } from '../shared/client'

import {
  CALL_CHANNEL as CALL,
  COMMAND_CHANNEL as COMMAND,
  EVENT_CHANNEL as EVENT,
  PICK_CHANNEL as PICK
} from '../main/electron/ipc-channels'

/**
 * The only bridge between the sandboxed renderer and the app: a typed call function, an event
 * subscription and desktop helpers. No raw ipcRenderer ever reaches the page. The preload is bundled
 * into one file, so importing the channel names is safe in the sandbox.
 */

const bridge = {
  transport: 'electron' as const,
  call: (method: string, args: unknown): Promise<unknown> => ipcRenderer.invoke(CALL, method, args),
  onEvent: (listener: (event: unknown) => void): (() => void) => {
    const wrapped = (_e: Electron.IpcRendererEvent, event: unknown) => listener(event)
    ipcRenderer.on(EVENT, wrapped)
    return () => void ipcRenderer.removeListener(EVENT, wrapped)
  },
  onCommand: (listener: (command: unknown) => void): (() => void) => {
    const wrapped = (_e: Electron.IpcRendererEvent, command: unknown) => listener(command)
    ipcRenderer.on(COMMAND, wrapped)
    return () => void ipcRenderer.removeListener(COMMAND, wrapped)
  },
  pick: (kind: PickKind): Promise<string[]> => ipcRenderer.invoke(PICK, kind),
  pathForFile: (file: File): string => webUtils.getPathForFile(file)
}

contextBridge.exposeInMainWorld('metascopeBridge', bridge)
export type MetascopeBridge = typeof bridge
