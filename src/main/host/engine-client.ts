import { randomBytes } from 'node:crypto'
import { ApiError, type ApiErrorShape } from '../../shared/errors'
import type { ApiEvent } from '../../shared/events'
import { JobWatch } from './job-watch'
import type { EngineToHost, HostToEngine } from './protocol'
import { DEFAULT_RESTART_POLICY, describeExit, restartDelay, type RestartPolicy } from './restart-policy'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** What a launcher must provide: a way to send, and a way to learn of messages and exit. */
export interface EngineChannel {
  /**
   * Sends one message. Must never throw: a message that cannot be delivered (the process is gone, the
   * pipe broke) is reported through `onFailed`, at most once.
   */
  send(msg: HostToEngine, onFailed: (err: Error) => void): void
  onMessage(fn: (msg: EngineToHost) => void): void
  onExit(fn: (code: number | null, signal?: string | null) => void): void
  kill(): void
  /** The engine's process id, where the launcher knows it (diagnostics and tests). */
  pid?: number
}

/** Retry hint for calls refused while the engine restarts immediately. */
const RETRY_SOON_MS = 1000

type State = { kind: 'starting' | 'ready' } | { kind: 'restarting'; until: number; reason: string } | { kind: 'down'; reason: string } | { kind: 'closed' }

/**
 * The host side of the engine connection: request/response by id, events fanned out to listeners.
 * If the engine process dies (a native crash in a model, say, or a kill from outside), every pending
 * call fails with a retryable 'engine-unavailable', so does every call made until a fresh engine is
 * ready, each job it was running gets its own `job.failed`, and listeners get an `engine.restarted`
 * event once the new engine is up so the UI can say so and reopen what the user had open. Nothing a
 * dead engine leaves behind (a failed send, a broken pipe) may take the host down with it.
 */
export class EngineClient {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ApiError) => void; method: string }>()
  private readonly listeners = new Set<(e: ApiEvent) => void>()
  private readonly jobs = new JobWatch()
  private channel!: EngineChannel
  private state: State = { kind: 'starting' }
  private readonly restarts: number[] = []
  private startupFailures = 0
  private restartTimer: NodeJS.Timeout | null = null
  ready!: Promise<void>

  constructor(
    private readonly launch: () => EngineChannel,
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY
  ) {
    this.connect()
  }

  private connect(): void {
    this.state = { kind: 'starting' }
    let markReady: () => void = () => {}
    this.ready = new Promise((r) => (markReady = r))
    let channel: EngineChannel
    try {
      channel = this.launch()
    } catch (err) {
      this.state = { kind: 'down', reason: `The compute engine could not be started: ${(err as Error).message}` }
      return
    }
    this.channel = channel
    let exited = false
    channel.onMessage((msg) => {
      if (exited || this.channel !== channel) return
      if (msg.kind === 'ready') {
        this.state = { kind: 'ready' }
        this.startupFailures = 0
        markReady()
      } else if (msg.kind === 'event') {
        this.jobs.seen(msg.event)
        this.emit(msg.event)
      } else {
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        if (msg.ok) {
          this.jobs.started(p.method, msg.value)
          p.resolve(msg.value)
        } else p.reject(ApiError.from(msg.error as ApiErrorShape))
      }
    })
    channel.onExit((code, signal) => {
      if (exited) return
      exited = true
      this.onExit(code, signal, this.state.kind === 'ready', markReady)
    })
  }

  private emit(e: ApiEvent): void {
    for (const l of this.listeners) {
      try {
        l(e)
      } catch (err) {
        // A listener's bug (a closed socket, say) must not stop the others or the engine's messages.
        console.error('engine event listener failed:', err)
      }
    }
  }

  private onExit(code: number | null, signal: string | null | undefined, wasReady: boolean, markReady: () => void): void {
    if (this.state.kind === 'closed') return
    const how = describeExit(code, signal)
    const reason = `The compute engine stopped (${how}).`
    const now = Date.now()
    if (!wasReady) this.startupFailures++
    if (this.startupFailures >= this.policy.startupFailures) {
      this.state = { kind: 'down', reason: `${reason} It stopped ${this.startupFailures} times in a row before it was ready, so it was not started again; restart Metascope.` }
    } else {
      const delay = restartDelay(this.restarts, now, this.policy)
      this.state = { kind: 'restarting', until: now + delay, reason }
    }
    const error = this.unavailable(`${reason} Run the task again${this.state.kind === 'down' ? ' after restarting Metascope' : ' in a moment'}.`, { constraint: 'stopped', exitCode: code, signal: signal ?? null })
    for (const p of this.pending.values()) p.reject(ApiError.from(error))
    this.pending.clear()
    for (const e of this.jobs.engineStopped({ ...error, message: `${reason} The job was lost with it; run it again.` })) this.emit(e)
    // Anyone waiting for `ready` learns of the state through their next call instead.
    markReady()
    if (this.state.kind === 'down') {
      this.emit({ type: 'engine.restarted', ok: false, reason: this.state.reason })
      return
    }
    const start = () => {
      this.restartTimer = null
      if (this.state.kind !== 'restarting') return
      this.restarts.push(Date.now())
      while (this.restarts.length > this.policy.burst) this.restarts.shift()
      this.connect()
      const ready = this.ready
      void ready.then(() => {
        if (this.state.kind === 'ready' && this.ready === ready) this.emit({ type: 'engine.restarted', ok: true, reason })
      })
    }
    const wait = this.state.until - now
    if (wait <= 0) start()
    else this.restartTimer = setTimeout(start, wait)
  }

  /**
   * The typed, retryable error for calls the engine cannot take now. `constraint` says why, for the
   * UI's words (errors.code.engine-unavailable.<constraint>): the engine's state unless `extra` says.
   */
  private unavailable(message: string, extra: Record<string, unknown> = {}): ApiErrorShape {
    const retryable = this.state.kind !== 'down'
    const retryAfterMs = this.state.kind === 'restarting' ? Math.max(RETRY_SOON_MS, this.state.until - Date.now()) : RETRY_SOON_MS
    return { code: 'engine-unavailable', message, details: { constraint: this.state.kind, retryable, ...(retryable ? { retryAfterMs } : {}), ...extra } }
  }

  private request(method: string, msg: DistributiveOmit<HostToEngine, 'id'>): Promise<unknown> {
    const s = this.state
    if (s.kind === 'down') return Promise.reject(ApiError.from(this.unavailable(s.reason)))
    if (s.kind === 'closed') return Promise.reject(ApiError.from(this.unavailable('Metascope is shutting down.')))
    if (s.kind === 'restarting') return Promise.reject(ApiError.from(this.unavailable(`${s.reason} It is being restarted; try again in a moment.`)))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method })
      this.channel.send({ ...msg, id } as HostToEngine, (err) => {
        // The process is going away: its exit fails every other pending call the same way.
        if (!this.pending.delete(id)) return
        reject(ApiError.from(this.unavailable(`The compute engine could not be reached (${err.message}); it is being restarted, try again in a moment.`, { constraint: 'unreachable' })))
      })
    })
  }

  call(method: string, args: unknown): Promise<unknown> {
    if (method === 'jobs.cancel') {
      const jobId = (args as { jobId?: unknown } | null)?.jobId
      const reason = typeof jobId === 'string' ? this.jobs.endedReason(jobId) : null
      if (reason) return Promise.resolve({ cancelled: false, reason })
    }
    return this.request(method, { kind: 'call', method, args })
  }

  imageFile(imageId: string): Promise<{ path: string; format: string }> {
    return this.request('image-path', { kind: 'image-path', imageId }) as Promise<{ path: string; format: string }>
  }

  downloadPath(downloadId: string): Promise<string> {
    return this.request('download-path', { kind: 'download-path', downloadId }) as Promise<string>
  }

  /** A WebP preview of an added image, fit inside size x size (see makeThumbnail). */
  async thumbnail(imageId: string, size: number): Promise<Uint8Array> {
    const value = await this.request('thumbnail', { kind: 'thumbnail', imageId, size })
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
    return this.state.kind === 'restarting' || this.state.kind === 'down' ? undefined : this.channel?.pid
  }

  close(): void {
    this.state = { kind: 'closed' }
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.channel?.kill()
  }
}

/** One key per host process for the engine's image ids: stable across engine restarts, never guessable. */
const ID_KEY = randomBytes(32).toString('hex')

/** The environment an engine process starts with. */
export function engineEnv(): NodeJS.ProcessEnv {
  return { ...process.env, METASCOPE_ID_KEY: process.env.METASCOPE_ID_KEY || ID_KEY }
}
