import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const COOKIE_NAME = 'metascope_token'

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie ?? ''
  for (const part of header.split(';')) {
    const [k, ...rest] = part.trim().split('=')
    if (k === COOKIE_NAME) return rest.join('=')
  }
  return null
}

/**
 * DNS-rebinding guard: a page on evil.example that resolves to 127.0.0.1 still sends its own Host, so
 * only loopback names with our port are accepted; a cross-site Origin is refused the same way.
 */
export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`]
  if (!allowed.includes(req.headers.host ?? '')) return false
  const origin = req.headers.origin
  if (origin !== undefined && !allowed.map((h) => `http://${h}`).includes(origin)) return false
  return true
}

export type AuthResult = 'ok' | 'token-in-url' | 'missing' | 'bad-host'

export function authenticate(req: IncomingMessage, url: URL, port: number, token: string): AuthResult {
  if (!hostAllowed(req, port)) return 'bad-host'
  const fromCookie = cookieToken(req)
  if (fromCookie && safeEqual(fromCookie, token)) return 'ok'
  const fromUrl = url.searchParams.get('token')
  if (fromUrl && safeEqual(fromUrl, token)) return 'token-in-url'
  return 'missing'
}
