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
  message: z.string().optional(),
  /** Work within the unit under way (Score-CAM: the masked inputs of the image being computed), so a bar moves within a long unit. */
  step: z.object({ done: z.number(), total: z.number() }).optional()
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

/**
 * Progress of a call that is not a job but may take a while (opening a model, saving or opening a
 * workspace): the caller names it by the call's `progressId`. `total` is 0 when a phase has no count.
 */
export const CallProgress = z.object({
  type: z.literal('call.progress'),
  callId: z.string(),
  phase: z.string(),
  done: z.number(),
  total: z.number()
})

/**
 * models.open's phases: the file (and a tfjs model's shards) read; a tfjs model converted (or an old
 * ONNX opset upgraded); constants folded for the gradient rules; onnxruntime's session built and its
 * shapes probed.
 */
export type ModelOpenPhase = 'reading' | 'converting' | 'preparing' | 'probing'
/** workspace.save: the result maps copied (done/total in bytes), then workspace.json written; workspace.open: the file read, then its results (done/total) read back. */
export type WorkspacePhase = 'maps' | 'writing' | 'reading' | 'reopening'

/** The engine process died and was replaced (ok) or left down after repeated crashes (not ok). */
export const EngineRestarted = z.object({
  type: z.literal('engine.restarted'),
  ok: z.boolean(),
  reason: z.string()
})

export const ApiEvent = z.discriminatedUnion('type', [JobProgress, JobItem, JobDone, JobFailed, JobCancelled, EngineRestarted, CallProgress])
export type JobEvent = Exclude<ApiEvent, z.infer<typeof EngineRestarted> | z.infer<typeof CallProgress>>
export type CallProgress = z.infer<typeof CallProgress>
export type ApiEvent = z.infer<typeof ApiEvent>
export type JobEndEvent = z.infer<typeof JobDone> | z.infer<typeof JobFailed> | z.infer<typeof JobCancelled>
