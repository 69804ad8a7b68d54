import { randomBytes } from 'node:crypto'
import { ApiError, type ApiErrorShape } from '../../shared/errors'
import type { ApiEvent } from '../../shared/events'
import type { EngineToHost, HostToEngine } from './protocol'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** The two things a launcher must provide: a way to send, and a way to learn of messages and exit. */
export interface EngineChannel {
  send(msg: HostToEngine): void
  onMessage(fn: (msg: EngineToHost) => void): void
  onExit(fn: (code: number | null, signal?: string | null) => void): void
  kill(): void
  /** The engine's process id, where the launcher knows it (diagnostics and tests). */
  pid?: number
}

/** Restarts allowed in RESTART_WINDOW_MS before the engine is left down (a crash loop helps nobody). */
const MAX_RESTARTS = 3
const RESTART_WINDOW_MS = 60_000

/**
 * The host side of the engine connection: request/response by id, events fanned out to listeners.
 * If the engine process dies (a native crash in a model, say), every pending call fails with
 * 'engine-unavailable' instead of hanging, a fresh engine is started, and listeners get an
 * `engine.restarted` event so the UI can say so and reopen what the user had open.
 */
export class EngineClient {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ApiError) => void }>()
  private readonly listeners = new Set<(e: ApiEvent) => void>()
  private channel!: EngineChannel
  private down: string | null = null
  private closed = false
  private readonly restarts: number[] = []
  ready!: Promise<void>

  constructor(private readonly launch: () => EngineChannel) {
    this.connect()
  }

  private connect(): void {
    const channel = this.launch()
    this.channel = channel
    let markReady: () => void = () => {}
    this.ready = new Promise((r) => (markReady = r))
    channel.onMessage((msg) => {
      if (msg.kind === 'ready') markReady()
      else if (msg.kind === 'event') this.emit(msg.event)
      else {
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        if (msg.ok) p.resolve(msg.value)
        else p.reject(ApiError.from(msg.error as ApiErrorShape))
      }
    })
    channel.onExit((code, signal) => this.onExit(code, signal))
  }

  private emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e)
  }

  private onExit(code: number | null, signal?: string | null): void {
    if (this.closed) return
    const reason = `The compute engine stopped (${signal ? `killed by ${signal}` : `exit code ${code}`}).`
    for (const p of this.pending.values()) p.reject(new ApiError('engine-unavailable', `${reason} It is being restarted; run the task again.`))
    this.pending.clear()
    const now = Date.now()
    while (this.restarts.length && now - this.restarts[0] > RESTART_WINDOW_MS) this.restarts.shift()
    if (this.restarts.length >= MAX_RESTARTS) {
      this.down = `${reason} It crashed ${MAX_RESTARTS + 1} times within a minute and was not restarted again; restart Metascope.`
      this.emit({ type: 'engine.restarted', ok: false, reason: this.down })
      return
    }
    this.restarts.push(now)
    this.connect()
    void this.ready.then(() => this.emit({ type: 'engine.restarted', ok: true, reason }))
  }

  private request(msg: DistributiveOmit<HostToEngine, 'id'>): Promise<unknown> {
    if (this.down) return Promise.reject(new ApiError('engine-unavailable', this.down))
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

  downloadPath(downloadId: string): Promise<string> {
    return this.request({ kind: 'download-path', downloadId }) as Promise<string>
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

  get pid(): number | undefined {
    return this.channel.pid
  }

  close(): void {
    this.closed = true
    this.channel.kill()
  }
}

/** One key per host process for the engine's image ids: stable across engine restarts, never guessable. */
const ID_KEY = randomBytes(32).toString('hex')

/** The environment an engine process starts with. */
export function engineEnv(): NodeJS.ProcessEnv {
  return { ...process.env, METASCOPE_ID_KEY: process.env.METASCOPE_ID_KEY || ID_KEY }
}
