import { ApiError } from '../../shared/errors'
import type { ApiEvent, JobEvent } from '../../shared/events'
import { Service } from '../service'

/**
 * The CLI as a front end like the UI: it calls the service in-process, with the same validation and
 * orchestration the app's calls get, and only formats what comes back. One service per command run;
 * `call` runs a job to its end and resolves with its result (a failed job throws its typed error).
 */
export function cliService(onEvent: (e: JobEvent) => void = () => {}) {
  const ended = new Map<string, ApiEvent>()
  const waiting = new Map<string, (e: ApiEvent) => void>()
  const service = new Service((e) => {
    if (e.type === 'engine.restarted' || e.type === 'call.progress') return
    onEvent(e)
    if (e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') {
      ended.set(e.jobId, e)
      waiting.get(e.jobId)?.(e)
    }
  })
  async function job(method: string, args: unknown): Promise<unknown> {
    const { jobId } = (await service.call(method, args)) as { jobId: string }
    const end = ended.get(jobId) ?? (await new Promise<ApiEvent>((resolve) => waiting.set(jobId, resolve)))
    if (end.type === 'job.failed') throw ApiError.from(end.error)
    if (end.type !== 'job.done') throw new ApiError('cancelled', 'The job was cancelled.')
    return end.result
  }
  return { service, call: (method: string, args: unknown) => service.call(method, args), job }
}
