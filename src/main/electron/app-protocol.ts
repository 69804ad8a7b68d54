import { net, protocol } from 'electron'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { clampThumbSize } from '../../shared/client'
import type { EngineClient } from '../host/engine-client'
import { imageFileHeaders, thumbnailHeaders } from '../host/served-file'
import { routeAppRequest } from './app-routes'
import { APP_SCHEME } from './window-options'

/** Must run before app 'ready': the scheme behaves like https (secure origin, fetch, CSP 'self'). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }
  ])
}

/**
 * metascope://app/<asset> serves the built renderer; metascope://app/files/<imageId> serves a user
 * image, but only one the engine has registered (the user added it), and metascope://app/thumbs/<imageId>?size=N
 * a small preview of one. Nothing else on disk is reachable.
 */
export function handleAppScheme(rendererDir: string, engine: EngineClient): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const route = routeAppRequest(request.url, rendererDir)
    try {
      switch (route.kind) {
        case 'refused':
          return new Response('not found', { status: route.status })
        case 'file': {
          // The type the bytes decoded as when added, never the name's: see host/served-file.ts.
          const { path, format } = await engine.imageFile(route.imageId)
          const headers = imageFileHeaders(path, format)
          if (!headers || !(await stat(path)).isFile()) return new Response('not found', { status: 404 })
          return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream, { headers })
        }
        case 'thumb': {
          const bytes = await engine.thumbnail(route.imageId, clampThumbSize(route.size))
          return new Response(new Uint8Array(bytes), { headers: { ...thumbnailHeaders(), 'cache-control': 'private, max-age=3600' } })
        }
        case 'asset':
          return await net.fetch(pathToFileURL(route.path).toString())
      }
    } catch {
      // Unknown ids and unreadable files alike: 404, revealing nothing about the disk.
      return new Response('not found', { status: 404 })
    }
  })
}
