import { app, BrowserWindow, ipcMain, session } from 'electron'
import { join } from 'node:path'
import type { EngineClient } from '../host/engine-client'
import { handleAppScheme, registerAppScheme } from './app-protocol'
import { CALL_CHANNEL, EVENT_CHANNEL, PICK_CHANNEL } from './ipc-channels'
import { guardContents, guardSession, type GuardedContents } from './lockdown'
import { installMenu } from './menu'
import { pickPaths, type PickKind } from './pick'
import { createCallHandler, isTrustedSender, originOf, type SenderInfo, type TrustPolicy } from './sender-guard'
import { launchUtilityEngine } from './utility-launcher'
import { APP_ENTRY, APP_ORIGIN, mainWindowOptions } from './window-options'

registerAppScheme()

let mainWindow: BrowserWindow | null = null
const devUrl = process.env.ELECTRON_RENDERER_URL
const policy = (): TrustPolicy => ({
  windowIds: new Set(mainWindow ? [mainWindow.webContents.id] : []),
  origins: [APP_ORIGIN, ...(devUrl ? [originOf(devUrl)!] : [])]
})

function senderOf(event: Electron.IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame
  return { webContentsId: event.sender.id, frameUrl: frame?.url, isMainFrame: frame !== null && frame === event.sender.mainFrame }
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(join(__dirname, '../preload/index.js')))
  win.once('ready-to-show', () => win.show())
  win.on('closed', () => (mainWindow = null))
  void win.loadURL(devUrl ?? APP_ENTRY)
  return win
}

function lockDown(): void {
  app.on('web-contents-created', (_e, contents) => guardContents(contents as unknown as GuardedContents, () => policy().origins))
  guardSession(session.defaultSession)
}

async function start(engine: EngineClient): Promise<void> {
  handleAppScheme(join(__dirname, '../renderer'), engine)
  lockDown()
  const handleCall = createCallHandler(engine, policy)
  ipcMain.handle(CALL_CHANNEL, (event, method: unknown, args: unknown) => handleCall(senderOf(event), method, args))
  ipcMain.handle(PICK_CHANNEL, async (event, kind: unknown) => {
    if (!mainWindow || !isTrustedSender(senderOf(event), policy())) return []
    if (kind !== 'model' && kind !== 'images' && kind !== 'folder' && kind !== 'labels') return []
    return pickPaths(mainWindow, kind as PickKind)
  })
  engine.onEvent((ev) => mainWindow?.webContents.send(EVENT_CHANNEL, ev))
  installMenu(() => mainWindow)
  mainWindow = createWindow()
  app.on('activate', () => {
    if (!mainWindow) mainWindow = createWindow()
  })
}

app.whenReady().then(() => start(launchUtilityEngine()), (err: unknown) => {
  console.error('Metascope failed to start:', err)
  app.quit()
})
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
