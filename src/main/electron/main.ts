import { app, BrowserWindow, ipcMain, session } from 'electron'
import { join } from 'node:path'
import type { EngineClient } from '../host/engine-client'
import { handleAppScheme, registerAppScheme } from './app-protocol'
import { planDownload } from './downloads'
import { CALL_CHANNEL, EVENT_CHANNEL, PICK_CHANNEL } from './ipc-channels'
import { guardContents, guardSession, hardenApp, type GuardedContents } from './lockdown'
import { installMenu } from './menu'
import { pickPaths } from './pick'
import { isPickKind } from './pick-options'
import { rendererUrl } from './renderer-url'
import { createCallHandler, isMainFrame, isTrustedSender, originOf, type SenderInfo, type TrustPolicy } from './sender-guard'
import { launchUtilityEngine } from './utility-launcher'
import { APP_ENTRY, mainWindowOptions } from './window-options'

// Both before 'ready': every renderer sandboxed, and the app scheme's privileges.
hardenApp(app)
registerAppScheme()

let mainWindow: BrowserWindow | null = null
const devUrl = rendererUrl(process.env, app.isPackaged)
const pages = [APP_ENTRY, ...(devUrl ? [devUrl] : [])]
const policy = (): TrustPolicy => ({
  windowIds: new Set(mainWindow ? [mainWindow.webContents.id] : []),
  pages
})

function senderOf(event: Electron.IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame
  return { webContentsId: event.sender.id, frameUrl: frame?.url, isMainFrame: isMainFrame(frame) }
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(join(__dirname, '../preload/index.js'), app.isPackaged))
  win.once('ready-to-show', () => win.show())
  win.on('closed', () => (mainWindow = null))
  void win.loadURL(devUrl ?? APP_ENTRY)
  return win
}

function lockDown(): void {
  app.on('web-contents-created', (_e, contents) => guardContents(contents as unknown as GuardedContents, () => policy().pages))
  guardSession(session.defaultSession, devUrl)
  // A job's file (an audit report, an adapted model) is saved where the user says; nothing else downloads.
  session.defaultSession.on('will-download', (_e, item) => {
    const plan = planDownload(item.getURL(), item.getFilename(), app.getPath('downloads'))
    if (plan) item.setSaveDialogOptions(plan)
    else item.cancel()
  })
}

async function start(engine: EngineClient): Promise<void> {
  handleAppScheme(join(__dirname, '../renderer'), engine, devUrl ? originOf(devUrl) : null)
  lockDown()
  const handleCall = createCallHandler(engine, policy)
  ipcMain.handle(CALL_CHANNEL, (event, method: unknown, args: unknown) => handleCall(senderOf(event), method, args))
  ipcMain.handle(PICK_CHANNEL, async (event, kind: unknown) => {
    if (!mainWindow || !isTrustedSender(senderOf(event), policy()) || !isPickKind(kind)) return []
    return pickPaths(mainWindow, kind)
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
