import { basename } from 'node:path'
import { THUMB_MIME } from '../../shared/client'
import { rasterType } from '../engine/data/raster'

/**
 * How user files are served to the UI, by either transport: inert. The type is the one the bytes
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
