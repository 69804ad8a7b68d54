import type { MethodName } from '../../../shared/api'
import type { MetascopeApi } from '../../../shared/client'
import { ApiError, ApiErrorShape } from '../../../shared/errors'
import { ApiEvent } from '../../../shared/events'

/**
 * Browser mode: calls are POST /api/<method>, events arrive on the WebSocket /api/events. The server
 * authenticates both by the HttpOnly cookie it set when the tokened URL was first opened.
 */
export function httpApi(): MetascopeApi {
  const listeners = new Set<(e: ApiEvent) => void>()
  let socket: WebSocket | null = null
  let retry = 500

  const connect = () => {
    const url = new URL('api/events', location.href)
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(url)
    socket.onopen = () => (retry = 500)
    socket.onmessage = (msg) => {
      const parsed = ApiEvent.safeParse(JSON.parse(String(msg.data)))
      if (parsed.success) for (const l of listeners) l(parsed.data)
    }
    // The server may restart (or the laptop sleep): reconnect with backoff rather than go deaf.
    socket.onclose = () => {
      socket = null
      setTimeout(connect, retry)
      retry = Math.min(retry * 2, 10_000)
    }
  }
  connect()

  return {
    transport: 'browser',
    async call(method: MethodName, args: unknown) {
      let response: Response
      try {
        response = await fetch(new URL(`api/${method}`, location.href), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(args ?? {}),
          credentials: 'same-origin'
        })
      } catch (err) {
        throw new ApiError('engine-unavailable', `The Metascope server cannot be reached: ${(err as Error).message}`)
      }
      const body = (await response.json().catch(() => null)) as { ok?: boolean; value?: unknown; error?: unknown } | null
      if (body?.ok) return body.value as never
      const shape = ApiErrorShape.safeParse(body?.error)
      throw shape.success
        ? ApiError.from(shape.data)
        : new ApiError('internal', `The server answered ${response.status} ${response.statusText}.`)
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    imageUrl: (id) => new URL(`files/${encodeURIComponent(id)}`, location.href).toString()
  }
}
