import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon'
}

export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/** Streams one file; `root`, when given, confines the path to that folder (no ../ escapes). */
export async function sendFile(res: ServerResponse, path: string, root?: string, headers: Record<string, string> = {}): Promise<boolean> {
  const full = root ? join(root, normalize(path).replace(/^([/\\])+/, '')) : path
  if (root && !(full === root || full.startsWith(root + sep))) return false
  const info = await stat(full).catch(() => null)
  if (!info || !info.isFile()) return false
  res.writeHead(200, {
    'content-type': contentType(full),
    'content-length': info.size,
    'x-content-type-options': 'nosniff',
    'cache-control': root ? 'no-cache' : 'private, max-age=3600',
    ...headers
  })
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(full)
    stream.on('error', reject).on('end', () => resolve())
    stream.pipe(res)
  })
  return true
}

/**
 * The page's own Content-Security-Policy (its meta tag) as a header, plus what only a header can say:
 * frame-ancestors 'none', so no other page (another local server included) can frame the app.
 */
export async function pageSecurityHeaders(rendererDir: string): Promise<Record<string, string>> {
  const html = await readFile(join(rendererDir, 'index.html'), 'utf8').catch(() => '')
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]?.trim().replace(/;\s*$/, '')
  const csp = `${meta ?? "default-src 'none'"}; frame-ancestors 'none'`
  return { 'content-security-policy': csp, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' }
}
