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
    expect(manager.cancel(jobId)).toEqual({ cancelled: true })
    await end(jobId)
    const last = events.at(-1)!
    expect(last).toMatchObject({ type: 'job.cancelled', jobId })
    expect(events.filter((e) => e.type === 'job.item').length).toBeLessThan(1000)
    expect(manager.cancel(jobId)).toMatchObject({ cancelled: false, reason: expect.stringMatching(/already/) })
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

describe('JobManager concurrency', () => {
  it('runs at most N jobs at once, queues the rest with their place in line, and cancels a queued one', async () => {
    const events: ApiEvent[] = []
    const manager = new JobManager((e) => events.push(e), 2)
    let running = 0
    let peak = 0
    const releases: (() => void)[] = []
    const job = () =>
      manager.start('hold', async () => {
        running++
        peak = Math.max(peak, running)
        await new Promise<void>((r) => releases.push(r))
        running--
        return 'ok'
      })
    const ids = [job(), job(), job(), job()].map((j) => j.jobId)
    await new Promise((r) => setImmediate(r))
    expect(manager.activeCount).toBe(2)
    expect(manager.queuedCount).toBe(2)
    const queued = events.filter((e) => e.type === 'job.progress' && e.phase === 'queued')
    expect(queued.map((e) => [(e as { jobId: string }).jobId, (e as { message: string }).message])).toEqual([
      [ids[2], 'waiting: 1 of 2 in line'],
      [ids[3], 'waiting: 2 of 2 in line']
    ])
    expect(manager.cancel(ids[2])).toEqual({ cancelled: true })
    expect(events.at(-2)).toMatchObject({ type: 'job.cancelled', jobId: ids[2] })
    expect(events.at(-1)).toMatchObject({ type: 'job.progress', jobId: ids[3], phase: 'queued', message: 'waiting: 1 of 1 in line' })
    releases.shift()!()
    await new Promise((r) => setTimeout(r, 10))
    expect(manager.activeCount).toBe(2) // job 4 took the free place
    while (releases.length) releases.shift()!()
    await new Promise((r) => setTimeout(r, 10))
    releases.forEach((r) => r())
    await new Promise((r) => setTimeout(r, 10))
    expect(peak).toBe(2)
    expect(events.filter((e) => e.type === 'job.done').map((e) => e.jobId).sort()).toEqual([ids[0], ids[1], ids[3]].sort())
    expect(events.some((e) => e.type === 'job.done' && e.jobId === ids[2])).toBe(false)
  })
})
