import type { ApiErrorShape } from '../../shared/errors'
import type { ApiEvent } from '../../shared/events'

/** Ended jobs remembered for jobs.cancel's answer (the oldest are forgotten first). */
const REMEMBERED = 1000

/**
 * The host's view of the jobs running in the engine: started by a call whose reply carries a jobId,
 * ended by their done/failed/cancelled event. When the engine process dies, the jobs it was running
 * can no longer end on their own, so the host ends each with its own `job.failed` event, and answers
 * a later `jobs.cancel` on one with why it is not running (the new engine never heard of it).
 */
export class JobWatch {
  private readonly live = new Map<string, string>()
  private readonly ended = new Map<string, string>()

  /** A reply to a call: a value holding a jobId started a job. */
  started(method: string, value: unknown): void {
    const jobId = (value as { jobId?: unknown } | null)?.jobId
    if (typeof jobId === 'string' && !this.ended.has(jobId)) this.live.set(jobId, this.live.get(jobId) ?? method)
  }

  /** Every engine event passes here: job events keep the kind, end events retire the job. */
  seen(e: ApiEvent): void {
    if (e.type === 'engine.restarted' || e.type === 'call.progress') return
    if (e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') {
      this.live.delete(e.jobId)
      this.remember(e.jobId, e.type === 'job.done' ? 'The job already finished.' : e.type === 'job.cancelled' ? 'The job was already cancelled.' : `The job already failed: ${e.error.message}`)
    } else this.live.set(e.jobId, e.kind)
  }

  /** The engine died: one job.failed event per job it was running, which are then remembered as failed. */
  engineStopped(error: ApiErrorShape): ApiEvent[] {
    const events: ApiEvent[] = [...this.live].map(([jobId, kind]) => ({ type: 'job.failed', jobId, kind, error }))
    for (const jobId of this.live.keys()) this.remember(jobId, `The job failed: ${error.message}`)
    this.live.clear()
    return events
  }

  /** Why a job is not running, when the host knows it ended; null when the engine should be asked. */
  endedReason(jobId: string): string | null {
    return this.ended.get(jobId) ?? null
  }

  private remember(jobId: string, reason: string): void {
    this.ended.delete(jobId)
    this.ended.set(jobId, reason)
    if (this.ended.size > REMEMBERED) this.ended.delete(this.ended.keys().next().value!)
  }
}
