import type { ApiEvent, JobEndEvent, JobEvent } from '../../../shared/events'
import { api } from '../api'

export interface TrackedJob {
  jobId: string
  /** Resolves with the job's last event (done, failed or cancelled); never rejects. */
  end: Promise<JobEndEvent>
}

/**
 * Starts a job and follows its events. It listens before the call is made, so events that overtake
 * the reply carrying the job id (WebSocket vs HTTP) are replayed rather than lost. A restarted engine
 * ends the job as failed. A call that fails throws, as the call itself would.
 */
export async function trackJob(start: () => Promise<{ jobId: string }>, onEvent: (e: JobEvent) => void): Promise<TrackedJob> {
  let jobId: string | null = null
  const buffered: JobEvent[] = []
  let finish: (e: JobEndEvent) => void = () => {}
  const end = new Promise<JobEndEvent>((resolve) => (finish = resolve))
  const handle = (e: JobEvent) => {
    onEvent(e)
    if (e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') {
      stop()
      finish(e)
    }
  }
  const stop = api.onEvent((e: ApiEvent) => {
    if (e.type === 'call.progress') return
    if (e.type === 'engine.restarted') {
      if (jobId === null) return
      const failed: JobEndEvent = { type: 'job.failed', jobId, kind: '', error: { code: 'engine-unavailable', message: e.reason, details: { constraint: e.ok ? 'stopped' : 'down' } } }
      handle(failed)
      return
    }
    if (jobId === null) buffered.push(e)
    else if (e.jobId === jobId) handle(e)
  })
  try {
    jobId = (await start()).jobId
  } catch (err) {
    stop()
    throw err
  }
  for (const e of buffered.splice(0)) if (e.jobId === jobId) handle(e)
  return { jobId, end }
}
