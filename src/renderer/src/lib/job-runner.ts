import { toErrorShape, type ApiErrorShape } from '../../../shared/errors'
import type { JobEvent } from '../../../shared/events'
import { api } from '../api'
import { trackJob, type TrackedJob } from './track-job'

export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled'

/** How a job a store started stands (a run in a list, a check): kept current by runJob. */
export interface JobRecord {
  status: JobStatus
  error?: ApiErrorShape | null
}

type JobProgressEvent = Extract<JobEvent, { type: 'job.progress' }>

export interface JobHooks {
  item?: (item: unknown) => void
  progress?: (e: JobProgressEvent) => void
  /** Reads the result into the record; an error returned (a result not understood) fails the record instead. */
  done?: (result: unknown) => ApiErrorShape | void
  /** Where a failure goes instead of the record's `error` (a record without one). */
  failed?: (error: ApiErrorShape) => void
  /** After the record's status is final (a run of several jobs settles its own status here). */
  end?: (status: JobStatus) => void
}

/**
 * Starts a job for `record` and keeps the record's status and error current as the job ends (an
 * engine restart fails it); items, progress and the result go to the hooks. The record must already
 * be reactive (as the store holds it): events that overtook the reply are replayed into it before
 * this resolves. A refused call rejects with its error, the record untouched.
 */
export async function runJob(record: JobRecord, start: () => Promise<{ jobId: string }>, hooks: JobHooks = {}): Promise<TrackedJob> {
  const fail = (error: ApiErrorShape) => {
    record.status = 'failed'
    if (hooks.failed) hooks.failed(error)
    else record.error = error
  }
  return trackJob(start, (e) => {
    if (e.type === 'job.item') hooks.item?.(e.item)
    else if (e.type === 'job.progress') hooks.progress?.(e)
    else if (e.type === 'job.done') {
      const error = hooks.done?.(e.result)
      if (error) fail(error)
      else record.status = 'done'
    } else if (e.type === 'job.failed') fail(e.error)
    else if (e.type === 'job.cancelled') record.status = 'cancelled'
    if (e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') hooks.end?.(record.status)
  })
}

/** Asks the engine to stop a job; its record ends when the job's cancelled event arrives. */
export async function cancelJob(jobId: string): Promise<boolean> {
  return (await api.call('jobs.cancel', { jobId })).cancelled
}

/** A `done` hook that reads the result with `schema` into `set`; a result that does not parse fails the record with why. */
export function parsedInto<T>(schema: { parse: (x: unknown) => T }, set: (value: T) => void): (result: unknown) => ApiErrorShape | void {
  return (result) => {
    try {
      set(schema.parse(result))
    } catch (err) {
      return toErrorShape(err)
    }
  }
}
