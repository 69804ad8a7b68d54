import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { join, normalize, sep } from 'node:path'
import { contentType, pageSecurityHeaders as pageHeadersOf, servableFile } from '../host/served-file'

/** Streams one file; `root`, when given, confines the path to that folder (no ../ escapes). */
export async function sendFile(res: ServerResponse, path: string, root?: string, headers: Record<string, string> = {}): Promise<boolean> {
  const full = root ? join(root, normalize(path).replace(/^([/\\])+/, '')) : path
  if (root && !(full === root || full.startsWith(root + sep))) return false
  const info = await servableFile(full)
  if (!info) return false
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

/** The page's security headers (see host/served-file.ts), from the built index.html. */
export async function pageSecurityHeaders(rendererDir: string): Promise<Record<string, string>> {
  return pageHeadersOf(await readFile(join(rendererDir, 'index.html'), 'utf8').catch(() => ''))
}
