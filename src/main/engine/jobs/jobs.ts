import { randomUUID } from 'node:crypto'
import { ApiError, toErrorShape } from '../../../shared/errors'
import type { ApiEvent } from '../../../shared/events'

export type Emit = (event: ApiEvent) => void

/** What a running job sees: report progress, stream items, and notice cancellation. */
export interface JobContext {
  readonly jobId: string
  readonly signal: AbortSignal
  /** `step`: how far the unit under way is (see JobProgress in src/shared/events.ts). */
  progress(done: number, total: number, phase: string, message?: string, step?: { done: number; total: number }): void
  item(item: unknown): void
  /** Throws ApiError('cancelled') once cancel was asked for; call between units of work. */
  throwIfCancelled(): void
}

/** Jobs that may compute at once; more wait in line (each holds models and batches in memory). */
export function defaultConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.METASCOPE_MAX_JOBS)
  return Number.isInteger(n) && n >= 1 ? n : 2
}

/** Jobs that may wait in line; one more is refused with a 'busy' error (each waiting job holds its inputs). */
export function defaultMaxQueued(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.METASCOPE_MAX_QUEUED_JOBS)
  return Number.isInteger(n) && n >= 0 ? n : 64
}

/** Ended jobs remembered so that cancelling one says why it is not running. */
const REMEMBERED = 1000

export interface CancelAnswer {
  cancelled: boolean
  /** Why nothing was cancelled. */
  reason?: string
}

interface Pending {
  jobId: string
  kind: string
  controller: AbortController
  run: () => void
  /** The place in line last announced, so a place is said once. */
  announced: string
}

/**
 * Runs long tasks off the request path. A start returns the job id at once; the job's events then
 * arrive through `emit`. At most `concurrency` jobs compute at once: six parallel 224 px Score-CAM jobs
 * took the engine to 849 MB, so later ones wait in a FIFO line and say their place in it as progress
 * (phase 'queued'). Cancellation is cooperative (AbortSignal): a job stops between units of work and
 * emits no item after its `job.cancelled` event; a queued job is dropped from the line.
 */
export class JobManager {
  private readonly running = new Map<string, AbortController>()
  private readonly queue: Pending[] = []
  private readonly ended = new Map<string, string>()

  constructor(
    private readonly emit: Emit,
    private readonly concurrency = defaultConcurrency(),
    private readonly maxQueued = defaultMaxQueued()
  ) {}

  /**
   * Refuses a new job while the line is full: an unbounded line let a client queue thousands of jobs,
   * each holding its arguments, and every one of them would run. Call before preparing the job.
   */
  checkRoom(): void {
    if (this.queue.length < this.maxQueued) return
    throw new ApiError('busy', `${this.queue.length} jobs are already waiting to run (the limit is ${this.maxQueued}, METASCOPE_MAX_QUEUED_JOBS); wait for some to finish or cancel them, then try again.`, undefined, {
      retryable: true,
      retryAfterMs: 2000,
      queued: this.queue.length,
      limit: this.maxQueued
    })
  }

  start(kind: string, work: (ctx: JobContext) => Promise<unknown>): { jobId: string } {
    this.checkRoom()
    const jobId = randomUUID()
    const controller = new AbortController()
    let done = 0
    const live = () => this.running.has(jobId) && !controller.signal.aborted
    const ctx: JobContext = {
      jobId,
      signal: controller.signal,
      progress: (d, total, phase, message, step) => {
        done = d
        if (live()) this.emit({ type: 'job.progress', jobId, kind, done: d, total, phase, message, ...(step ? { step } : {}) })
      },
      item: (item) => {
        if (live()) this.emit({ type: 'job.item', jobId, kind, item })
      },
      throwIfCancelled: () => {
        if (controller.signal.aborted) throw new ApiError('cancelled', 'The job was cancelled.')
      }
    }
    const finish = (end: () => void, how: string) => {
      // Forget the job before announcing its end, so listeners see a consistent activeCount.
      this.running.delete(jobId)
      this.remember(jobId, controller.signal.aborted ? 'The job was already cancelled.' : how)
      if (controller.signal.aborted) this.emit({ type: 'job.cancelled', jobId, kind, done })
      else end()
      this.next()
    }
    const run = () => {
      this.running.set(jobId, controller)
      work(ctx).then(
        (result) => finish(() => this.emit({ type: 'job.done', jobId, kind, result }), 'The job already finished.'),
        (err: unknown) => {
          const error = toErrorShape(err)
          finish(() => this.emit({ type: 'job.failed', jobId, kind, error }), `The job already failed: ${error.message}`)
        }
      )
    }
    this.queue.push({ jobId, kind, controller, run, announced: '' })
    // Defer so the caller receives the job id before the first event.
    setImmediate(() => this.next())
    return { jobId }
  }

  /** Starts queued jobs while there is room, and tells the ones still waiting their place. */
  private next(): void {
    while (this.running.size < this.concurrency && this.queue.length) this.queue.shift()!.run()
    this.queue.forEach((p, i) => {
      const message = `waiting: ${i + 1} of ${this.queue.length} in line`
      if (message === p.announced) return
      p.announced = message
      this.emit({ type: 'job.progress', jobId: p.jobId, kind: p.kind, done: 0, total: 0, phase: 'queued', message })
    })
  }

  cancel(jobId: string): CancelAnswer {
    const queued = this.queue.findIndex((p) => p.jobId === jobId)
    if (queued >= 0) {
      const [p] = this.queue.splice(queued, 1)
      p.controller.abort()
      this.remember(jobId, 'The job was already cancelled.')
      this.emit({ type: 'job.cancelled', jobId, kind: p.kind, done: 0 })
      this.next()
      return { cancelled: true }
    }
    const controller = this.running.get(jobId)
    if (controller?.signal.aborted) return { cancelled: false, reason: 'The job is already being cancelled.' }
    if (!controller) return { cancelled: false, reason: this.ended.get(jobId) ?? `No job ${jobId} is known to this engine (it may have run in an engine that has since stopped).` }
    controller.abort()
    return { cancelled: true }
  }

  private remember(jobId: string, reason: string): void {
    this.ended.set(jobId, reason)
    if (this.ended.size > REMEMBERED) this.ended.delete(this.ended.keys().next().value!)
  }

  /** Jobs computing now (queued ones not counted). */
  get activeCount(): number {
    return this.running.size
  }

  get queuedCount(): number {
    return this.queue.length
  }
}
