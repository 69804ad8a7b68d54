import { ApiError, type ApiErrorShape } from '../../shared/errors'
import type { ApiEvent } from '../../shared/events'
import type { EngineToHost, HostToEngine } from './protocol'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** The two things a launcher must provide: a way to send, and a way to learn of messages and exit. */
export interface EngineChannel {
  send(msg: HostToEngine): void
  onMessage(fn: (msg: EngineToHost) => void): void
  onExit(fn: (code: number | null) => void): void
  kill(): void
}

/**
 * The host side of the engine connection: request/response by id, events fanned out to listeners.
 * If the engine process dies, every pending call fails with 'engine-unavailable' instead of hanging.
 */
export class EngineClient {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ApiError) => void }>()
  private readonly listeners = new Set<(e: ApiEvent) => void>()
  private exited: string | null = null
  readonly ready: Promise<void>

  constructor(private readonly channel: EngineChannel) {
    let markReady: () => void = () => {}
    this.ready = new Promise((r) => (markReady = r))
    channel.onMessage((msg) => {
      if (msg.kind === 'ready') markReady()
      else if (msg.kind === 'event') for (const l of this.listeners) l(msg.event)
      else {
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        if (msg.ok) p.resolve(msg.value)
        else p.reject(ApiError.from(msg.error as ApiErrorShape))
      }
    })
    channel.onExit((code) => {
      this.exited = `The compute engine stopped (exit code ${code}).`
      for (const p of this.pending.values()) p.reject(new ApiError('engine-unavailable', this.exited))
      this.pending.clear()
    })
  }

  private request(msg: DistributiveOmit<HostToEngine, 'id'>): Promise<unknown> {
    if (this.exited) return Promise.reject(new ApiError('engine-unavailable', this.exited))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.channel.send({ ...msg, id } as HostToEngine)
    })
  }

  call(method: string, args: unknown): Promise<unknown> {
    return this.request({ kind: 'call', method, args })
  }

  imagePath(imageId: string): Promise<string> {
    return this.request({ kind: 'image-path', imageId }) as Promise<string>
  }

  /** A WebP preview of an added image, fit inside size x size (see makeThumbnail). */
  async thumbnail(imageId: string, size: number): Promise<Uint8Array> {
    const value = await this.request({ kind: 'thumbnail', imageId, size })
    // Node's 'advanced' serialization may hand back a Buffer; Electron a Uint8Array. Both are views.
    if (value instanceof Uint8Array) return value
    if (value instanceof ArrayBuffer) return new Uint8Array(value)
    throw new ApiError('internal', 'The engine answered a thumbnail request with something other than bytes.')
  }

  onEvent(fn: (e: ApiEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  close(): void {
    this.channel.kill()
  }
}
