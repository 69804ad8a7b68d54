import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAppHandler, type AppFiles } from '../../src/main/electron/app-handler'
import { routeAppRequest } from '../../src/main/electron/app-routes'
import { APP_SCHEME_PRIVILEGES } from '../../src/main/electron/window-options'
import type { EngineClient } from '../../src/main/host/engine-client'
import { startServer, type RunningServer } from '../../src/main/server/http-server'
import { exchangeToken } from '../server-harness'
import { tempDir } from '../helpers'

/**
 * The desktop app's metascope://app/ handler (app-handler.ts), run with real Requests, real files and
 * a stand-in engine (Electron's `protocol` and `net` cannot run here), against browser mode's server
 * over the same files: both take their headers and file rules from host/served-file.ts.
 */
const CSP = "default-src 'none'; script-src 'self'; img-src 'self' data: metascope:"
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
let dir: string
let renderer: string
let engine: AppFiles

beforeAll(() => {
  dir = tempDir('metascope-app-protocol-')
  renderer = join(dir, 'renderer')
  mkdirSync(join(renderer, 'assets', 'folder.js'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), `<!doctype html><meta http-equiv="Content-Security-Policy" content="${CSP};" /><title>Metascope</title>`)
  writeFileSync(join(renderer, 'assets', 'main.js'), 'console.log(1)')
  // An image whose name says HTML: served as what it decoded as, inert.
  writeFileSync(join(dir, 'poly.html'), PNG)
  writeFileSync(join(dir, 'model.onnx'), 'onnx bytes')
  const images: Record<string, { path: string; format: string }> = {
    img: { path: join(dir, 'poly.html'), format: 'png' },
    // A registered id whose file became a folder: never listed.
    gone: { path: join(dir, 'renderer'), format: 'png' }
  }
  engine = {
    imageFile: async (id) => {
      if (!images[id]) throw new Error('unknown image')
      return images[id]
    },
    thumbnail: async (id) => {
      if (!images[id]) throw new Error('unknown image')
      return new Uint8Array([1, 2, 3])
    },
    downloadPath: async (id) => {
      if (id !== 'd1') throw new Error('unknown download')
      return join(dir, 'model.onnx')
    }
  }
})

const handler = (devOrigin: string | null = null) => createAppHandler({ rendererDir: renderer, engine, devOrigin })
const get = (url: string, headers: Record<string, string> = {}, devOrigin: string | null = null) => handler(devOrigin)(new Request(url, { headers }))

describe('metascope://app/ responses', () => {
  it('serves the entry page with its CSP as a header, frame-ancestors none, an explicit type and nosniff', async () => {
    const res = await get('metascope://app/index.html')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('content-security-policy')).toBe(`${CSP}; frame-ancestors 'none'`)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(await res.text()).toContain('<title>Metascope</title>')
    const js = await get('metascope://app/assets/main.js')
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('x-content-type-options')).toBe('nosniff')
    expect(js.headers.get('content-security-policy')).toBeNull()
  })

  it('never lists a folder, and answers 404 for what is missing, unknown or escapes', async () => {
    const missing = [
      'metascope://app/assets/',
      'metascope://app/assets/folder.js',
      'metascope://app/nothing.js',
      'metascope://app/files/unknown',
      'metascope://app/files/gone',
      'metascope://app/thumbs/unknown',
      'metascope://app/downloads/nope'
    ]
    for (const url of missing) {
      const res = await get(url)
      expect(res.status, url).toBe(404)
      expect(await res.text(), url).toBe('not found')
    }
    expect((await get('metascope://app/%')).status).toBe(400)
    expect((await get('metascope://evil/index.html')).status).toBe(404)
  })

  it('serves a user image as the type it decoded as, inert, and a download as an attachment', async () => {
    const img = await get('metascope://app/files/img')
    expect(img.headers.get('content-type')).toBe('image/png')
    expect(img.headers.get('x-content-type-options')).toBe('nosniff')
    expect(img.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/)
    expect(Buffer.from(await img.arrayBuffer())).toEqual(PNG)
    const dl = await get('metascope://app/downloads/d1')
    expect(dl.headers.get('content-type')).toBe('application/octet-stream')
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="adapted-model\.onnx"/)
    expect(await dl.text()).toBe('onnx bytes')
    expect(routeAppRequest('metascope://app/downloads/d1', renderer)).toEqual({ kind: 'download', downloadId: 'd1' })
  })

  it("answers the dev server's origin under CORS (npm run dev), and no other origin", async () => {
    const dev = 'http://localhost:5173'
    expect(APP_SCHEME_PRIVILEGES.corsEnabled).toBe(true)
    for (const url of ['metascope://app/files/img', 'metascope://app/thumbs/img?size=64']) {
      const fromDev = await get(url, { origin: dev }, dev)
      expect(fromDev.headers.get('access-control-allow-origin'), url).toBe(dev)
      // A plain <img> of the dev page sends no Origin: it needs the resource policy to let it load.
      expect((await get(url, {}, dev)).headers.get('cross-origin-resource-policy'), url).toBe('cross-origin')
      expect((await get(url, { origin: 'http://localhost:6666' }, dev)).headers.get('access-control-allow-origin'), url).toBeNull()
      // A packaged app (no dev server) answers no origin at all, and keeps its files to itself.
      const packaged = await get(url, { origin: dev }, null)
      expect(packaged.headers.get('access-control-allow-origin'), url).toBeNull()
      expect(packaged.headers.get('cross-origin-resource-policy'), url).toBe('same-origin')
    }
  })
})

describe('the same headers as browser mode', () => {
  let server: RunningServer
  let cookie: string
  beforeAll(async () => {
    const stub = { ...engine, call: async () => null, onEvent: () => () => {} } as unknown as EngineClient
    server = await startServer({ engine: stub, rendererDir: renderer, port: 0 })
    cookie = await exchangeToken(server)
  })
  afterAll(async () => server?.close())

  /** The headers that describe the content (transport ones such as date or keep-alive left out). */
  const described = (h: Headers) =>
    Object.fromEntries([...h.entries()].filter(([k]) => !['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k)))

  it.each([['/index.html'], ['/assets/main.js'], ['/files/img'], ['/thumbs/img?size=64'], ['/downloads/d1']])('%s', async (path) => {
    const http = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } })
    const app = await get(`metascope://app${path}`)
    expect(http.status).toBe(200)
    expect(app.status).toBe(200)
    expect(described(app.headers)).toEqual(described(http.headers))
  })
})
