import { defineStore } from 'pinia'
import { reactive } from 'vue'
import type { ApiErrorShape } from '../../../shared/errors'
import type { ApiEvent } from '../../../shared/events'
import { api } from '../api'
import { cancelJob } from '../lib/job-runner'

export interface JobState {
  jobId: string
  kind: string
  done: number
  total: number
  phase: string
  message?: string
  /** How far the unit under way is (Score-CAM's masks of one image); absent for jobs without steps. */
  step?: { done: number; total: number }
  status: 'running' | 'done' | 'failed' | 'cancelled'
  error?: ApiErrorShape
  startedAt: number
}

/** Mirrors the engine's job events; components read progress from here, never from the transport. */
export const useJobsStore = defineStore('jobs', () => {
  const jobs = reactive(new Map<string, JobState>())

  function ensure(e: { jobId: string; kind: string }): JobState {
    let job = jobs.get(e.jobId)
    if (!job) {
      job = { jobId: e.jobId, kind: e.kind, done: 0, total: 0, phase: '', status: 'running', startedAt: Date.now() }
      jobs.set(e.jobId, job)
    }
    return job
  }

  function apply(e: ApiEvent): void {
    if (e.type === 'call.progress') return
    if (e.type === 'engine.restarted') {
      for (const j of jobs.values()) if (j.status === 'running') Object.assign(j, { status: 'failed', error: { code: 'engine-unavailable', message: e.reason, details: { constraint: e.ok ? 'stopped' : 'down' } } })
      return
    }
    const job = ensure(e)
    if (e.type === 'job.progress') Object.assign(job, { done: e.done, total: e.total, phase: e.phase, message: e.message, step: e.step })
    else if (e.type === 'job.done') job.status = 'done'
    else if (e.type === 'job.failed') Object.assign(job, { status: 'failed', error: e.error })
    else if (e.type === 'job.cancelled') job.status = 'cancelled'
  }

  api.onEvent(apply)

  return { jobs, apply, cancel: cancelJob }
})
