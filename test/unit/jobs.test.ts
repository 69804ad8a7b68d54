import { describe, expect, it } from 'vitest'
import type { ApiEvent } from '../../src/shared/events'
import { JobManager } from '../../src/main/engine/jobs/jobs'

function collect() {
  const events: ApiEvent[] = []
  const ended = new Map<string, () => void>()
  const manager = new JobManager((e) => {
    events.push(e)
    if (e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') ended.get(e.jobId)?.()
  })
  const end = (jobId: string) => new Promise<void>((r) => ended.set(jobId, r))
  return { events, manager, end }
}

describe('JobManager', () => {
  it('streams progress and items, then done with the result', async () => {
    const { events, manager, end } = collect()
    const { jobId } = manager.start('count', async (ctx) => {
      for (let i = 1; i <= 3; i++) {
        ctx.item(i)
        ctx.progress(i, 3, 'counting')
      }
      return 'finished'
    })
    await end(jobId)
    expect(events.filter((e) => e.type === 'job.item').map((e) => (e as { item: unknown }).item)).toEqual([1, 2, 3])
    expect(events.at(-1)).toMatchObject({ type: 'job.done', jobId, result: 'finished' })
    expect(manager.activeCount).toBe(0)
  })

  it('cancel stops the job and no item arrives after job.cancelled', async () => {
    const { events, manager, end } = collect()
    const { jobId } = manager.start('slow', async (ctx) => {
      for (let i = 0; i < 1000; i++) {
        ctx.throwIfCancelled()
        ctx.item(i)
        await new Promise((r) => setTimeout(r, 2))
      }
    })
    await new Promise((r) => setTimeout(r, 30))
    expect(manager.cancel(jobId)).toBe(true)
    await end(jobId)
    const last = events.at(-1)!
    expect(last).toMatchObject({ type: 'job.cancelled', jobId })
    expect(events.filter((e) => e.type === 'job.item').length).toBeLessThan(1000)
    expect(manager.cancel(jobId)).toBe(false)
  })

  it('a failing job reports a typed error', async () => {
    const { events, manager, end } = collect()
    const { jobId } = manager.start('bad', async () => {
      throw new Error('exploded')
    })
    await end(jobId)
    expect(events.at(-1)).toMatchObject({ type: 'job.failed', error: { code: 'internal', message: 'exploded' } })
  })
})
