import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Browsers send a 127.0.0.1 cookie to every port of 127.0.0.1, so the cookie is named per port (another
 * local server sees a name that means nothing to it) and holds a session secret, never the URL token.
 * (`__Host-` cookies would need HTTPS, which a loopback server does not have.)
 */
export const cookieName = (port: number) => `metascope_session_${port}`

export function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie ?? ''
  for (const part of header.split(';')) {
    const [k, ...rest] = part.trim().split('=')
    if (k === name) return rest.join('=')
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

/**
 * A browser says where a request comes from (Sec-Fetch-Site). An <img> on another 127.0.0.1 port sends
 * no Origin but 'same-site': only our own pages ('same-origin') and typed URLs ('none') may load files
 * and thumbnails. Clients that send no such header are not browsers (curl, tests) and still need the cookie.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site']
  return site === undefined || site === 'same-origin' || site === 'none'
}

export type AuthResult = 'ok' | 'token-in-url' | 'token-used' | 'missing' | 'bad-host'

/**
 * The URL token is good for one exchange: the first request that carries it gets a fresh session
 * secret as a cookie; after that the token opens nothing (a leaked link or history entry is useless).
 */
export class Auth {
  private token: string | null
  readonly session = randomBytes(32).toString('hex')

  constructor(
    token: string,
    private readonly port: () => number
  ) {
    this.token = token
  }

  check(req: IncomingMessage, url: URL): AuthResult {
    const port = this.port()
    if (!hostAllowed(req, port)) return 'bad-host'
    const fromCookie = cookieValue(req, cookieName(port))
    if (fromCookie && safeEqual(fromCookie, this.session)) return 'ok'
    const fromUrl = url.searchParams.get('token')
    if (fromUrl && this.token && safeEqual(fromUrl, this.token)) return 'token-in-url'
    if (fromUrl) return 'token-used'
    return 'missing'
  }

  /** Spends the URL token; returns the Set-Cookie header value of the session. */
  exchange(): string {
    this.token = null
    return `${cookieName(this.port())}=${this.session}; HttpOnly; SameSite=Strict; Path=/`
  }
}
