import { randomUUID } from 'node:crypto'
import { ApiError, toErrorShape } from '../../../shared/errors'
import type { ApiEvent } from '../../../shared/events'

export type Emit = (event: ApiEvent) => void

/** What a running job sees: report progress, stream items, and notice cancellation. */
export interface JobContext {
  readonly signal: AbortSignal
  progress(done: number, total: number, phase: string, message?: string): void
  item(item: unknown): void
  /** Throws ApiError('cancelled') once cancel was asked for; call between units of work. */
  throwIfCancelled(): void
}

/** Jobs that may compute at once; more wait in line (each holds models and batches in memory). */
export function defaultConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.METASCOPE_MAX_JOBS)
  return Number.isInteger(n) && n >= 1 ? n : 2
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

  constructor(
    private readonly emit: Emit,
    private readonly concurrency = defaultConcurrency()
  ) {}

  start(kind: string, work: (ctx: JobContext) => Promise<unknown>): { jobId: string } {
    const jobId = randomUUID()
    const controller = new AbortController()
    let done = 0
    const live = () => this.running.has(jobId) && !controller.signal.aborted
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (d, total, phase, message) => {
        done = d
        if (live()) this.emit({ type: 'job.progress', jobId, kind, done: d, total, phase, message })
      },
      item: (item) => {
        if (live()) this.emit({ type: 'job.item', jobId, kind, item })
      },
      throwIfCancelled: () => {
        if (controller.signal.aborted) throw new ApiError('cancelled', 'The job was cancelled.')
      }
    }
    const finish = (end: () => void) => {
      // Forget the job before announcing its end, so listeners see a consistent activeCount.
      this.running.delete(jobId)
      if (controller.signal.aborted) this.emit({ type: 'job.cancelled', jobId, kind, done })
      else end()
      this.next()
    }
    const run = () => {
      this.running.set(jobId, controller)
      work(ctx).then(
        (result) => finish(() => this.emit({ type: 'job.done', jobId, kind, result })),
        (err: unknown) => finish(() => this.emit({ type: 'job.failed', jobId, kind, error: toErrorShape(err) }))
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

  cancel(jobId: string): boolean {
    const queued = this.queue.findIndex((p) => p.jobId === jobId)
    if (queued >= 0) {
      const [p] = this.queue.splice(queued, 1)
      p.controller.abort()
      this.emit({ type: 'job.cancelled', jobId, kind: p.kind, done: 0 })
      this.next()
      return true
    }
    const controller = this.running.get(jobId)
    if (!controller || controller.signal.aborted) return false
    controller.abort()
    return true
  }

  /** Jobs computing now (queued ones not counted). */
  get activeCount(): number {
    return this.running.size
  }

  get queuedCount(): number {
    return this.queue.length
  }
}
