import { z } from 'zod'
import { ApiErrorShape } from './errors'

/**
 * Events flow from the engine to every connected UI. Long tasks are jobs: a call returns a job id at
 * once, then progress, zero or more streamed items, and exactly one of done / failed / cancelled.
 */
export const JobProgress = z.object({
  type: z.literal('job.progress'),
  jobId: z.string(),
  kind: z.string(),
  done: z.number(),
  total: z.number(),
  phase: z.string(),
  message: z.string().optional()
})

export const JobItem = z.object({
  type: z.literal('job.item'),
  jobId: z.string(),
  kind: z.string(),
  item: z.unknown()
})

export const JobDone = z.object({
  type: z.literal('job.done'),
  jobId: z.string(),
  kind: z.string(),
  result: z.unknown()
})

export const JobFailed = z.object({
  type: z.literal('job.failed'),
  jobId: z.string(),
  kind: z.string(),
  error: ApiErrorShape
})

export const JobCancelled = z.object({
  type: z.literal('job.cancelled'),
  jobId: z.string(),
  kind: z.string(),
  done: z.number()
})

/** The engine process died and was replaced (ok) or left down after repeated crashes (not ok). */
export const EngineRestarted = z.object({
  type: z.literal('engine.restarted'),
  ok: z.boolean(),
  reason: z.string()
})

export const ApiEvent = z.discriminatedUnion('type', [JobProgress, JobItem, JobDone, JobFailed, JobCancelled, EngineRestarted])
export type JobEvent = Exclude<ApiEvent, z.infer<typeof EngineRestarted>>
export type ApiEvent = z.infer<typeof ApiEvent>
export type JobEndEvent = z.infer<typeof JobDone> | z.infer<typeof JobFailed> | z.infer<typeof JobCancelled>
