import type { MenuItemConstructorOptions } from 'electron'
import { describe, expect, it } from 'vitest'
import { isAppDownloadUrl, planDownload } from '../../src/main/electron/downloads'
import { menuTemplate } from '../../src/main/electron/menu-template'
import { isPickKind, openDialogOptions, PICK_KINDS } from '../../src/main/electron/pick-options'
import { rendererUrl } from '../../src/main/electron/renderer-url'

/** The desktop shell's pure parts: what main.ts, menu.ts and pick.ts hand to Electron. */
describe('the dev server URL (ELECTRON_RENDERER_URL)', () => {
  it('is honoured in a checkout for a loopback http URL', () => {
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173' }, false)).toBe('http://localhost:5173/')
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://127.0.0.1:5173/' }, false)).toBe('http://127.0.0.1:5173/')
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://[::1]:5173/' }, false)).toBe('http://[::1]:5173/')
    expect(rendererUrl({}, false)).toBeNull()
  })

  it('is never honoured by a packaged app', () => {
    expect(rendererUrl({ ELECTRON_RENDERER_URL: 'http://localhost:5173/' }, true)).toBeNull()
  })

  it.each([
    ['another host', 'http://evil.example:5173/'],
    ['https', 'https://localhost:5173/'],
    ['file:', 'file:///tmp/index.html'],
    ['a host that only starts like loopback', 'http://127.0.0.1.evil.example/'],
    ['a LAN address', 'http://192.168.1.2:5173/'],
    ['userinfo hiding the host', 'http://localhost@evil.example/'],
    ['credentials', 'http://user:pw@localhost:5173/'],
    ['no URL at all', 'localhost:5173']
  ])('refuses %s', (_name, url) => {
    expect(rendererUrl({ ELECTRON_RENDERER_URL: url }, false)).toBeNull()
  })
})

describe('downloads', () => {
  it('asks where to save the app\'s own downloads, suggesting the served name in the downloads folder', () => {
    expect(isAppDownloadUrl('metascope://app/downloads/d1')).toBe(true)
    expect(planDownload('metascope://app/downloads/d1', 'report.html', '/home/u/Downloads')).toEqual({
      title: 'Save',
      defaultPath: '/home/u/Downloads/report.html',
      filters: [{ name: 'HTML', extensions: ['html'] }, { name: 'All files', extensions: ['*'] }]
    })
    expect(planDownload('metascope://app/downloads/d2', 'adapted-model.onnx', 'C:\\Users\\u\\Downloads')?.defaultPath).toBe('C:\\Users\\u\\Downloads\\adapted-model.onnx')
  })

  it('cancels anything else, and keeps a suggested name inside the folder', () => {
    for (const url of ['https://evil.example/downloads/x', 'metascope://app/files/abc', 'metascope://app/downloads/', 'metascope://evil/downloads/x', 'blob:metascope://app/1', 'nonsense']) {
      expect(planDownload(url, 'x.bin', '/d'), url).toBeNull()
    }
    expect(planDownload('metascope://app/downloads/d1', '../../etc/passwd', '/d')?.defaultPath).toBe('/d/.._.._etc_passwd')
  })
})

describe('native dialogs', () => {
  it('has an output-folder pick: one folder, which the dialog may create', () => {
    const o = openDialogOptions('output')
    expect(o.properties).toContain('openDirectory')
    expect(o.properties).toContain('createDirectory')
    expect(o.properties).not.toContain('multiSelections')
    expect(o.properties).not.toContain('openFile')
    // The image-folder pick stays multi-select, and no kind opens without a title.
    expect(openDialogOptions('folder').properties).toEqual(['openDirectory', 'multiSelections'])
    for (const kind of PICK_KINDS) expect(openDialogOptions(kind).title, kind).toBeTruthy()
  })

  it('opens only the kinds it has for the renderer', () => {
    for (const kind of ['model', 'images', 'folder', 'labels', 'output']) expect(isPickKind(kind)).toBe(true)
    for (const kind of ['save', '', null, 1, { toString: () => 'model' }]) expect(isPickKind(kind)).toBe(false)
  })
})

describe('the application menu', () => {
  const opened: string[] = []
  const open = (kind: string) => () => void opened.push(kind)
  const labels = (t: MenuItemConstructorOptions[]) => t.map((m) => m.role ?? m.label)
  const roles = (m: MenuItemConstructorOptions | undefined) => (m?.submenu as MenuItemConstructorOptions[] | undefined)?.map((i) => i.role ?? i.label ?? i.type)

  it('puts the app menu (About, Services, Hide, Quit) first on macOS, and File without Quit', () => {
    const t = menuTemplate('darwin', true, open)
    expect(labels(t)).toEqual(['appMenu', 'File', 'editMenu', 'View', 'windowMenu'])
    expect(roles(t[1])).toEqual(['Open Model…', 'Add Images…', 'Add Folder…'])
  })

  it('keeps File first, with Quit, elsewhere', () => {
    for (const platform of ['linux', 'win32'] as const) {
      const t = menuTemplate(platform, true, open)
      expect(labels(t)).toEqual(['File', 'editMenu', 'View', 'windowMenu'])
      expect(roles(t[0])).toEqual(['Open Model…', 'Add Images…', 'Add Folder…', 'separator', 'quit'])
    }
  })

  it('has no DevTools or reload in a packaged app; the standard View menu in a checkout', () => {
    const view = menuTemplate('linux', true, open).find((m) => m.label === 'View')
    expect(roles(view)).not.toContain('toggleDevTools')
    expect(roles(view)).not.toContain('reload')
    expect(roles(view)).not.toContain('forceReload')
    expect(menuTemplate('linux', false, open).find((m) => m.role === 'viewMenu')).toBeDefined()
  })

  it('File items open their dialogs', () => {
    const file = menuTemplate('linux', true, open)[0].submenu as MenuItemConstructorOptions[]
    for (const item of file.slice(0, 3)) (item.click as () => void)()
    expect(opened).toEqual(['model', 'images', 'folder'])
  })
})
