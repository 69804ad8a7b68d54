import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { clampThumbSize } from '../../shared/client'
import { ApiError, toErrorShape, type ApiErrorShape } from '../../shared/errors'
import { validateCall } from '../../shared/validate'
import { MAX_UPLOAD_BYTES, UploadStore } from '../engine/data/uploads'
import type { EngineClient } from '../host/engine-client'
import { assetHeaders, downloadHeaders, downloadName, imageFileHeaders, thumbnailHeaders } from '../host/served-file'
import { Auth, sameOrigin } from './auth'
import { pageSecurityHeaders, sendFile } from './static-files'

export interface ServeOptions {
  engine: EngineClient
  rendererDir: string
  port?: number
  token?: string
}

export interface RunningServer {
  server: Server
  port: number
  token: string
  url: string
  /** Where POST /upload stores files (removed by close()). */
  uploads: UploadStore
  close(): Promise<void>
}

const MAX_BODY = 1 << 20

/**
 * HTTP status by error code. Like JSON-RPC, a call the engine ran and answered with a typed error
 * (missing file, bad image) is a 200 whose body says ok:false; 4xx/5xx mean the call itself was bad
 * or could not be run.
 */
const STATUS_BY_CODE: Partial<Record<ApiErrorShape['code'], number>> = {
  'unknown-method': 404,
  'invalid-arguments': 400,
  forbidden: 403,
  busy: 429,
  'engine-unavailable': 503
}

/** Status for a refused upload: the file was not stored. */
const UPLOAD_STATUS_BY_CODE: Partial<Record<ApiErrorShape['code'], number>> = {
  'invalid-arguments': 400,
  'out-of-range': 413,
  'engine-unavailable': 503
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(data)
}

function fail(res: ServerResponse, status: number, error: ApiErrorShape): void {
  // A refusal that may be retried says when (seconds), as HTTP clients expect of 429 and 503.
  const retryAfterMs = error.details?.retryAfterMs
  if ((status === 429 || status === 503) && !res.headersSent) res.setHeader('retry-after', String(Math.max(1, Math.ceil((typeof retryAfterMs === 'number' ? retryAfterMs : 1000) / 1000))))
  json(res, status, { ok: false, error })
}

/** The file routes answer 404 for anything unknown, but a restarting engine is a retryable 503. */
function engineDown(err: unknown): err is ApiError {
  return err instanceof ApiError && err.code === 'engine-unavailable'
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new ApiError('invalid-arguments', 'Request body is larger than 1 MiB.')
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return text ? JSON.parse(text) : {}
  } catch {
    throw new ApiError('invalid-arguments', 'Request body is not valid JSON.')
  }
}

/**
 * Browser mode: the renderer and the API on 127.0.0.1 only. Calls are POST /api/<method> with a JSON
 * body; events come over the WebSocket at /api/events; user images at /files/<imageId>, files a job wrote
 * for the user (an adapted model) at /downloads/<id>, previews at
 * /thumbs/<imageId>?size=N; POST /upload?path=<relative path>[&batch=<id>][&listedBy=<model.json's path>]
 * stores the raw body in this server's upload folder (the page cannot see file paths; listedBy admits a
 * weight shard of any name that json lists) and answers its absolute path. The token from
 * the printed URL is swapped for an HttpOnly SameSite=Strict cookie on first load; every route,
 * uploads included, needs that cookie and a loopback Host/Origin.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('hex')
  let port = 0
  const auth = new Auth(token, () => port)
  const pageHeaders = pageSecurityHeaders(opts.rendererDir)
  const uploads = new UploadStore()

  const upload = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'POST') return fail(res, 405, { code: 'invalid-arguments', message: 'Uploads are POST requests.' })
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) {
      // Refuse before reading: close the connection rather than drain a huge body.
      res.setHeader('connection', 'close')
      return fail(res, 413, { code: 'out-of-range', message: `The file is larger than the upload limit of ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB.` })
    }
    try {
      const path = await uploads.save(url.searchParams.get('path'), req, url.searchParams.get('batch'), url.searchParams.get('listedBy'))
      return json(res, 200, { ok: true, value: { path } })
    } catch (err) {
      const error = toErrorShape(err)
      const status = UPLOAD_STATUS_BY_CODE[error.code] ?? 500
      if (!req.complete) res.setHeader('connection', 'close')
      return fail(res, status, error)
    }
  }

  const thumbnail = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    let bytes: Uint8Array
    try {
      const id = url.pathname.slice('/thumbs/'.length)
      const decoded = decodeURIComponent(id)
      bytes = await opts.engine.thumbnail(decoded, clampThumbSize(url.searchParams.get('size')))
    } catch (err) {
      // Unknown id or unreadable image alike: 404, revealing nothing about the disk.
      if (engineDown(err)) return fail(res, 503, err.toJSON())
      return fail(res, 404, { code: 'not-found', message: 'No such image.' })
    }
    res.writeHead(200, {
      ...thumbnailHeaders(),
      'content-length': bytes.byteLength,
      'cache-control': 'private, max-age=3600'
    })
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const state = auth.check(req, url)
    if (state === 'bad-host') return fail(res, 403, { code: 'forbidden', message: 'Host or Origin not allowed.' })
    if (state === 'missing') {
      return fail(res, 401, { code: 'forbidden', message: 'Missing or wrong token: open the URL printed by `npm run serve`.' })
    }
    if (state === 'token-used') {
      return fail(res, 401, { code: 'forbidden', message: 'This link was already used (it opens one browser session). Use the tab it opened, or restart `npm run serve` for a new link.' })
    }
    if (state === 'token-in-url') {
      // Keep the token out of history and logs, and never echo the request path into the redirect
      // (//evil.example would be an open redirect): set the session cookie and go to the app.
      res.writeHead(302, { 'set-cookie': auth.exchange(), location: '/', 'cache-control': 'no-store' })
      return void res.end()
    }
    let route: string
    try {
      route = decodeURIComponent(url.pathname)
    } catch {
      return fail(res, url.pathname.startsWith('/api/') ? 400 : 404, { code: 'invalid-arguments', message: 'The request path is not valid percent-encoding.' })
    }
    if ((route.startsWith('/files/') || route.startsWith('/thumbs/') || route.startsWith('/downloads/')) && !sameOrigin(req)) {
      return fail(res, 403, { code: 'forbidden', message: 'Images load only in Metascope\'s own pages.' })
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return fail(res, 405, { code: 'invalid-arguments', message: 'API calls are POST requests.' })
      const method = route.slice('/api/'.length)
      try {
        const body = await readJson(req)
        const call = validateCall(method, body)
        const value = await opts.engine.call(call.method, call.args)
        return json(res, 200, { ok: true, value })
      } catch (err) {
        const error = toErrorShape(err)
        const status = STATUS_BY_CODE[error.code] ?? 200
        return fail(res, status, error)
      }
    }
    if (url.pathname === '/upload') return upload(req, res, url)
    if (url.pathname.startsWith('/thumbs/')) return thumbnail(req, res, url)
    if (route.startsWith('/downloads/')) {
      try {
        const path = await opts.engine.downloadPath(route.slice('/downloads/'.length))
        if (await sendFile(res, path, undefined, downloadHeaders(downloadName(path)))) return
      } catch (err) {
        if (engineDown(err)) return fail(res, 503, err.toJSON())
        // unknown id: 404 like any missing file
      }
      return fail(res, 404, { code: 'not-found', message: 'No such download.' })
    }
    if (route.startsWith('/files/')) {
      try {
        const { path, format } = await opts.engine.imageFile(route.slice('/files/'.length))
        const headers = imageFileHeaders(path, format)
        if (headers && (await sendFile(res, path, undefined, headers))) return
      } catch (err) {
        if (engineDown(err)) return fail(res, 503, err.toJSON())
        // fall through to 404: the id was never added, so nothing is revealed about the disk
      }
      return fail(res, 404, { code: 'not-found', message: 'No such image.' })
    }
    const path = route === '/' ? 'index.html' : route
    if (await sendFile(res, path, opts.rendererDir, assetHeaders(path, await pageHeaders))) return
    return fail(res, 404, { code: 'not-found', message: `Not found: ${url.pathname}` })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, 500, toErrorShape(err))
      else res.destroy()
    })
  })

  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname !== '/api/events' || auth.check(req, url) !== 'ok') {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })
  const unsubscribe = opts.engine.onEvent((event) => {
    const data = JSON.stringify(event)
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(data)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port
  return {
    server,
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    uploads,
    close: async () => {
      unsubscribe()
      for (const c of wss.clients) c.terminate()
      wss.close()
      await new Promise<void>((r) => server.close(() => r()))
      await uploads.close()
    }
  }
}
