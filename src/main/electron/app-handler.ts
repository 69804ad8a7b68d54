import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { clampThumbSize } from '../../shared/client'
import type { EngineClient } from '../host/engine-client'
import { assetHeaders, downloadHeaders, downloadName, imageFileHeaders, pageSecurityHeaders, servableFile, thumbnailHeaders } from '../host/served-file'
import { routeAppRequest } from './app-routes'

/** What the handler asks the engine (a test passes a stand-in). */
export type AppFiles = Pick<EngineClient, 'imageFile' | 'thumbnail' | 'downloadPath'>

export interface AppHandlerOptions {
  rendererDir: string
  engine: AppFiles
  /**
   * The dev server's origin in `npm run dev`: its page is http://localhost while images come from
   * metascope://, so they carry CORS headers for that origin alone (else a canvas that draws them is
   * tainted and getImageData throws). Null when the page is served by this scheme itself.
   */
  devOrigin: string | null
}

function notFound(): Response {
  return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } })
}

/** A file's bytes with `headers`, or 404 when it is not a file (a folder is never listed). */
async function fileResponse(path: string, headers: Record<string, string>): Promise<Response> {
  const info = await servableFile(path)
  if (!info) return notFound()
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream
  return new Response(body, { headers: { ...headers, 'content-length': String(info.size) } })
}

/**
 * The metascope://app/ request handler, kept free of Electron so it is unit-tested with real Requests:
 * metascope://app/<asset> serves the built renderer; /files/<imageId> a user image, but only one the
 * engine has registered (the user added it); /thumbs/<imageId>?size=N a small preview of one;
 * /downloads/<id> a file a job wrote. Every response takes its headers from host/served-file.ts,
 * exactly as browser mode's server does. Nothing else on disk is reachable.
 */
export function createAppHandler(opts: AppHandlerOptions): (request: Request) => Promise<Response> {
  let page: Promise<Record<string, string>> | null = null
  const pageHeaders = () => (page ??= readFile(join(opts.rendererDir, 'index.html'), 'utf8').catch(() => '').then(pageSecurityHeaders))
  // Dev only: the page is another origin, so a plain <img> (no CORS, no Origin header) needs a
  // cross-origin resource policy, and a CORS request (a canvas's image) its allow-origin. No other
  // page can ask: the request filter and the navigation guard keep every other origin out.
  const cors = (request: Request): Record<string, string> => {
    if (!opts.devOrigin) return {}
    const corp = { 'cross-origin-resource-policy': 'cross-origin' }
    return request.headers.get('origin') === opts.devOrigin ? { ...corp, 'access-control-allow-origin': opts.devOrigin, vary: 'origin' } : corp
  }

  return async (request) => {
    const route = routeAppRequest(request.url, opts.rendererDir)
    try {
      switch (route.kind) {
        case 'refused':
          return new Response('not found', { status: route.status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } })
        case 'file': {
          // The type the bytes decoded as when added, never the name's: see host/served-file.ts.
          const { path, format } = await opts.engine.imageFile(route.imageId)
          const headers = imageFileHeaders(path, format)
          return headers ? await fileResponse(path, { ...headers, 'cache-control': 'private, max-age=3600', ...cors(request) }) : notFound()
        }
        case 'thumb': {
          const bytes = await opts.engine.thumbnail(route.imageId, clampThumbSize(route.size))
          return new Response(new Uint8Array(bytes), { headers: { ...thumbnailHeaders(), 'cache-control': 'private, max-age=3600', ...cors(request) } })
        }
        case 'download': {
          const path = await opts.engine.downloadPath(route.downloadId)
          return await fileResponse(path, { ...downloadHeaders(downloadName(path)), 'cache-control': 'private, max-age=3600' })
        }
        case 'asset':
          return await fileResponse(route.path, assetHeaders(route.path, await pageHeaders()))
      }
    } catch {
      // Unknown ids and unreadable files alike: 404, revealing nothing about the disk.
      return notFound()
    }
  }
}
