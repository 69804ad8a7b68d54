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

/**
 * Runs long tasks off the request path. A start returns the job id at once; the job's events then
 * arrive through `emit`. Cancellation is cooperative (AbortSignal) so a job stops between units of
 * work and emits no item after its `job.cancelled` event.
 */
export class JobManager {
  private readonly running = new Map<string, AbortController>()

  constructor(private readonly emit: Emit) {}

  start(kind: string, work: (ctx: JobContext) => Promise<unknown>): { jobId: string } {
    const jobId = randomUUID()
    const controller = new AbortController()
    this.running.set(jobId, controller)
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
    // Defer so the caller receives the job id before the first event.
    const finish = (end: () => void) => {
      // Forget the job before announcing its end, so listeners see a consistent activeCount.
      this.running.delete(jobId)
      if (controller.signal.aborted) this.emit({ type: 'job.cancelled', jobId, kind, done })
      else end()
    }
    // Defer so the caller receives the job id before the first event.
    setImmediate(() => {
      work(ctx).then(
        (result) => finish(() => this.emit({ type: 'job.done', jobId, kind, result })),
        (err: unknown) => finish(() => this.emit({ type: 'job.failed', jobId, kind, error: toErrorShape(err) }))
      )
    })
    return { jobId }
  }

  cancel(jobId: string): boolean {
    const controller = this.running.get(jobId)
    if (!controller || controller.signal.aborted) return false
    controller.abort()
    return true
  }

  get activeCount(): number {
    return this.running.size
  }
}
