import type { MethodName } from '../../../shared/api'
import { clampThumbSize, UPLOAD_EXTENSIONS, UPLOAD_MAX_BYTES, type MetascopeApi, type UploadFile } from '../../../shared/client'
import { ApiError, ApiErrorShape } from '../../../shared/errors'
import { ApiEvent } from '../../../shared/events'

const UPLOAD_CONCURRENCY = 4

/** Reads the server's { ok, value } / { ok:false, error } answer, or turns a bad one into an ApiError. */
async function unwrap(response: Response): Promise<unknown> {
  const body = (await response.json().catch(() => null)) as { ok?: boolean; value?: unknown; error?: unknown } | null
  if (body?.ok) return body.value
  const shape = ApiErrorShape.safeParse(body?.error)
  throw shape.success
    ? ApiError.from(shape.data)
    : new ApiError('internal', `The server answered ${response.status} ${response.statusText}.`)
}

function unreachable(err: unknown): ApiError {
  return new ApiError('engine-unavailable', `The Metascope server cannot be reached: ${(err as Error).message}`, undefined, { constraint: 'server', reason: (err as Error).message })
}

/**
 * Only what the server would store: no hidden files (.DS_Store) or hidden folders; allowed extensions,
 * or any name for a weight file a model.json lists (`listed`: the server checks the manifest).
 */
export function isUploadable(relativePath: string, listed = false): boolean {
  const segments = relativePath.split(/[\\/]/).filter((s) => s !== '' && s !== '.')
  const name = segments[segments.length - 1] ?? ''
  if (!name || segments.some((s) => s.startsWith('.'))) return false
  if (listed) return true
  const dot = name.lastIndexOf('.')
  return dot > 0 && UPLOAD_EXTENSIONS.includes(name.slice(dot).toLowerCase())
}

function batchId(): string {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === 'function') return c.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
}

/**
 * Uploads files to POST /upload (raw bytes, the relative path and a per-call batch id in the query),
 * `concurrency` at a time, and resolves with the stored paths in input order. Unuploadable files are
 * skipped; the first failure stops new uploads and rejects once the running ones have settled. Files
 * listed by a model.json (listedBy) go after all the others, so the server can read that json first.
 */
export async function uploadFiles(
  files: UploadFile[],
  onProgress?: (done: number, total: number) => void,
  concurrency = UPLOAD_CONCURRENCY
): Promise<string[]> {
  const todo = files.filter((f) => isUploadable(f.relativePath || f.file.name, !!f.listedBy))
  for (const f of todo) {
    // The server would refuse it anyway; say so before sending 200 MB.
    if (f.file.size > UPLOAD_MAX_BYTES) {
      throw new ApiError('out-of-range', `${f.file.name} is larger than the upload limit of ${UPLOAD_MAX_BYTES / (1024 * 1024)} MB.`)
    }
  }
  const batch = batchId()
  const paths: string[] = new Array(todo.length)
  let done = 0
  let failure: unknown = null
  onProgress?.(0, todo.length)
  const upload = async (indices: number[]): Promise<void> => {
    let next = 0
    const worker = async () => {
      while (failure === null && next < indices.length) {
        const i = indices[next++]
        const { file, relativePath, listedBy } = todo[i]
        const url = new URL('upload', location.href)
        url.searchParams.set('path', relativePath || file.name)
        url.searchParams.set('batch', batch)
        if (listedBy) url.searchParams.set('listedBy', listedBy)
        try {
          let response: Response
          try {
            response = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/octet-stream' },
              body: file,
              credentials: 'same-origin'
            })
          } catch (err) {
            throw unreachable(err)
          }
          paths[i] = ((await unwrap(response)) as { path: string }).path
          onProgress?.(++done, todo.length)
        } catch (err) {
          failure ??= err
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, worker))
  }
  // The shards a model.json lists go once everything else (that json among it) is stored: the server
  // reads the json to admit them.
  const indices = todo.map((_, i) => i)
  await upload(indices.filter((i) => !todo[i].listedBy))
  if (failure === null) await upload(indices.filter((i) => todo[i].listedBy))
  if (failure !== null) throw failure
  return paths
}

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
        throw unreachable(err)
      }
      return (await unwrap(response)) as never
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    imageUrl: (id) => new URL(`files/${encodeURIComponent(id)}`, location.href).toString(),
    thumbUrl: (id, size) => new URL(`thumbs/${encodeURIComponent(id)}?size=${clampThumbSize(size)}`, location.href).toString(),
    downloadUrl: (id) => new URL(`downloads/${encodeURIComponent(id)}`, location.href).toString(),
    uploadFiles: (files, onProgress) => uploadFiles(files, onProgress)
  }
}
