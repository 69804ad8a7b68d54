import { join, normalize, sep } from 'node:path'

export type AppRoute =
  | { kind: 'asset'; path: string }
  | { kind: 'file'; imageId: string }
  | { kind: 'thumb'; imageId: string; size: string | null }
  | { kind: 'download'; downloadId: string }
  | { kind: 'refused'; status: 400 | 403 | 404 }

/**
 * What a metascope://app/ request asks for, decided without Electron (so it is unit-tested): built
 * renderer assets under rendererDir, user images and thumbnails by id, files a job wrote by download id. A malformed percent-escape or a
 * path that leaves the renderer folder is refused, never thrown.
 */
export function routeAppRequest(requestUrl: string, rendererDir: string): AppRoute {
  let url: URL
  let path: string
  try {
    url = new URL(requestUrl)
    path = decodeURIComponent(url.pathname)
  } catch {
    return { kind: 'refused', status: 400 }
  }
  if (url.host !== 'app') return { kind: 'refused', status: 404 }
  if (path.startsWith('/files/')) return { kind: 'file', imageId: path.slice('/files/'.length) }
  if (path.startsWith('/downloads/')) return { kind: 'download', downloadId: path.slice('/downloads/'.length) }
  if (path.startsWith('/thumbs/')) return { kind: 'thumb', imageId: path.slice('/thumbs/'.length), size: url.searchParams.get('size') }
  const rel = normalize(path === '/' ? '/index.html' : path).replace(/^[/\\]+/, '')
  const full = join(rendererDir, rel)
  if (!full.startsWith(rendererDir + sep)) return { kind: 'refused', status: 403 }
  return { kind: 'asset', path: full }
}
