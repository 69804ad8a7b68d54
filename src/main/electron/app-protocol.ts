import { net, protocol } from 'electron'
import { pathToFileURL } from 'node:url'
import { join, normalize, sep } from 'node:path'
import { clampThumbSize, THUMB_MIME } from '../../shared/client'
import type { EngineClient } from '../host/engine-client'
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
    const url = new URL(request.url)
    if (url.host !== 'app') return new Response('not found', { status: 404 })
    if (url.pathname.startsWith('/files/')) {
      try {
        const path = await engine.imagePath(decodeURIComponent(url.pathname.slice('/files/'.length)))
        return net.fetch(pathToFileURL(path).toString())
      } catch {
        return new Response('not found', { status: 404 })
      }
    }
    if (url.pathname.startsWith('/thumbs/')) {
      try {
        const id = decodeURIComponent(url.pathname.slice('/thumbs/'.length))
        const bytes = await engine.thumbnail(id, clampThumbSize(url.searchParams.get('size')))
        return new Response(new Uint8Array(bytes), {
          headers: { 'content-type': THUMB_MIME, 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' }
        })
      } catch {
        return new Response('not found', { status: 404 })
      }
    }
    const rel = normalize(decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)).replace(/^[/\\]+/, '')
    const full = join(rendererDir, rel)
    if (!full.startsWith(rendererDir + sep)) return new Response('forbidden', { status: 403 })
    return net.fetch(pathToFileURL(full).toString())
  })
}
