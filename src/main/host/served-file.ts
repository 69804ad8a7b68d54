import { stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { THUMB_MIME } from '../../shared/client'
import { rasterType } from '../engine/data/raster'

/**
 * How files are served to the UI, by either transport (browser mode's HTTP server and the desktop
 * app's metascope:// protocol share this module, so the two cannot drift). User files first: inert. The type is the one the bytes
 * decoded as when the file was added (never the file name's extension), the browser may not sniff
 * another, and the response is a sandboxed document of its own if opened directly, so a PNG named
 * `poly.html` with HTML in a text chunk shows as an image and runs nothing.
 */
const USER_FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

/** RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name. */
export function contentDisposition(kind: 'inline' | 'attachment', path: string): string {
  const name = basename(path)
  // Quotes, backslashes, control and non-ASCII characters never reach the quoted fallback.
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`
}

/** Headers every user-file response carries, whatever its type. */
function inert(type: string, disposition: string): Record<string, string> {
  return {
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': USER_FILE_CSP,
    'content-disposition': disposition,
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer'
  }
}

/** An added image, at /files/<id>: its decoded raster type, or null when the format is not one we serve. */
export function imageFileHeaders(path: string, format: string): Record<string, string> | null {
  const type = rasterType(format)
  return type ? inert(type, contentDisposition('inline', path)) : null
}

/** A thumbnail of an added image (WebP bytes the engine encoded). */
export function thumbnailHeaders(): Record<string, string> {
  return inert(THUMB_MIME, contentDisposition('inline', 'thumbnail.webp'))
}

/** A file a job wrote for the user (an adapted model, a report), under the name it is saved as: always saved, never shown. */
export function downloadHeaders(name: string): Record<string, string> {
  return inert('application/octet-stream', contentDisposition('attachment', name))
}

/** A file a job wrote, under the name it is saved as (an adapted model is not saved as plain model.onnx). */
export function downloadName(path: string): string {
  return basename(path) === 'model.onnx' ? 'adapted-model.onnx' : basename(path)
}

/** The renderer's own files: the type by extension (the build writes only these), nothing sniffed. */
const ASSET_TYPES: Record<string, string> = {
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
  return ASSET_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * The page's own Content-Security-Policy (index.html's meta tag) as a header, plus what only a header
 * can say: frame-ancestors 'none', so no other page can frame the app. Without a meta tag, nothing.
 */
export function pageSecurityHeaders(indexHtml: string): Record<string, string> {
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(indexHtml)?.[1]?.trim().replace(/;\s*$/, '')
  const csp = `${meta ?? "default-src 'none'"}; frame-ancestors 'none'`
  return { 'content-security-policy': csp, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' }
}

/** Headers for one of the renderer's files; `page` (pageSecurityHeaders) goes on HTML pages. */
export function assetHeaders(path: string, page: Record<string, string>): Record<string, string> {
  return {
    'content-type': contentType(path),
    'x-content-type-options': 'nosniff',
    // The build's names change with their content, but index.html does not: always revalidate.
    'cache-control': 'no-cache',
    ...(extname(path).toLowerCase() === '.html' ? page : {})
  }
}

/** The size of a file that may be served, or null: missing, unreadable, or not a file (a folder is never listed). */
export async function servableFile(path: string): Promise<{ size: number } | null> {
  const info = await stat(path).catch(() => null)
  return info && info.isFile() ? { size: info.size } : null
}
