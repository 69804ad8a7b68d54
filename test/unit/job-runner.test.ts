import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ApiErrorShape } from '../../src/shared/errors'
import type { ApiEvent, JobEndEvent, JobEvent } from '../../src/shared/events'

/**
 * The renderer's job runner (src/renderer/src/lib/job-runner.ts), which every store starts its jobs
 * with, against a fake API: events are pushed by hand, calls answer as each test says. Loaded at run
 * time: tsconfig.node.json does not list renderer files (vue-tsc checks the module itself).
 */
const fake = vi.hoisted(() => ({
  listeners: new Set<(e: unknown) => void>(),
  calls: [] as { method: string; args: unknown }[],
  answer: async (_method: string, _args: unknown): Promise<unknown> => ({ jobId: 'j1' })
}))
vi.mock('../../src/renderer/src/api', () => ({
  api: {
    call: (method: string, args: unknown) => {
      fake.calls.push({ method, args })
      return fake.answer(method, args)
    },
    onEvent: (listener: (e: unknown) => void) => {
      fake.listeners.add(listener)
      return () => fake.listeners.delete(listener)
    }
  }
}))

type Status = 'running' | 'done' | 'failed' | 'cancelled'
type JobRecord = { status: Status; error?: ApiErrorShape | null }
type Hooks = {
  item?: (item: unknown) => void
  progress?: (e: Extract<JobEvent, { type: 'job.progress' }>) => void
  done?: (result: unknown) => ApiErrorShape | void
  failed?: (error: ApiErrorShape) => void
  end?: (status: Status) => void
}
type Runner = {
  runJob(record: JobRecord, start: () => Promise<{ jobId: string }>, hooks?: Hooks): Promise<{ jobId: string; end: Promise<JobEndEvent> }>
  cancelJob(jobId: string): Promise<boolean>
}
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'lib', 'job-runner.ts'].join('/')
let m: Runner

beforeAll(async () => {
  m = (await import(/* @vite-ignore */ modulePath)) as Runner
})

beforeEach(() => {
  fake.listeners.clear()
  fake.calls.length = 0
  fake.answer = async () => ({ jobId: 'j1' })
})

const emit = (e: ApiEvent) => {
  for (const l of [...fake.listeners]) l(e)
}
const ev = {
  progress: (jobId: string, done: number, total: number, phase = 'run'): ApiEvent => ({ type: 'job.progress', jobId, kind: 'k', done, total, phase }),
  item: (jobId: string, item: unknown): ApiEvent => ({ type: 'job.item', jobId, kind: 'k', item }),
  done: (jobId: string, result: unknown = {}): ApiEvent => ({ type: 'job.done', jobId, kind: 'k', result }),
  failed: (jobId: string, error: ApiErrorShape): ApiEvent => ({ type: 'job.failed', jobId, kind: 'k', error }),
  cancelled: (jobId: string): ApiEvent => ({ type: 'job.cancelled', jobId, kind: 'k', done: 0 })
}
const start = (jobId = 'j1') => () => Promise.resolve({ jobId })

describe('running a job into its record', () => {
  it('passes items, progress and the result to the hooks and ends the record done', async () => {
    const record: JobRecord = { status: 'running', error: null }
    const items: unknown[] = []
    const phases: string[] = []
    let result: unknown = null
    const ends: Status[] = []
    const job = await m.runJob(record, start(), { item: (x) => items.push(x), progress: (e) => phases.push(`${e.phase} ${e.done}/${e.total}`), done: (r) => void (result = r), end: (s) => ends.push(s) })
    expect(job.jobId).toBe('j1')
    emit(ev.progress('j1', 1, 2))
    emit(ev.item('j1', { n: 1 }))
    emit(ev.item('other', { n: 99 }))
    expect(record.status).toBe('running')
    emit(ev.done('j1', { ok: true }))
    expect(items).toEqual([{ n: 1 }])
    expect(phases).toEqual(['run 1/2'])
    expect(result).toEqual({ ok: true })
    expect(record).toEqual({ status: 'done', error: null })
    expect(ends).toEqual(['done'])
    expect((await job.end).type).toBe('job.done')
    // Ended: it no longer listens.
    expect(fake.listeners.size).toBe(0)
  })

  it('replays events that overtook the reply carrying the job id', async () => {
    const record: JobRecord = { status: 'running' }
    const items: unknown[] = []
    const early = () => {
      emit(ev.item('j1', 'a'))
      emit(ev.item('j2', 'not ours'))
      emit(ev.done('j1'))
      return Promise.resolve({ jobId: 'j1' })
    }
    await m.runJob(record, early, { item: (x) => items.push(x) })
    expect(items).toEqual(['a'])
    expect(record.status).toBe('done')
  })

  it('fails the record with the error the done hook returns for a result it does not understand', async () => {
    const record: JobRecord = { status: 'running', error: null }
    const ends: Status[] = []
    await m.runJob(record, start(), { done: () => ({ code: 'internal', message: 'not understood' }), end: (s) => ends.push(s) })
    emit(ev.done('j1', 'garbage'))
    expect(record).toEqual({ status: 'failed', error: { code: 'internal', message: 'not understood' } })
    expect(ends).toEqual(['failed'])
  })

  it("keeps the engine's error on the record, or hands it to the failed hook instead", async () => {
    const error: ApiErrorShape = { code: 'bad-file', message: 'x is missing.' }
    const kept: JobRecord = { status: 'running', error: null }
    await m.runJob(kept, start('a'))
    emit(ev.failed('a', error))
    expect(kept).toEqual({ status: 'failed', error })

    const elsewhere: JobRecord = { status: 'running' }
    const seen: ApiErrorShape[] = []
    await m.runJob(elsewhere, start('b'), { failed: (e) => seen.push(e) })
    emit(ev.failed('b', error))
    expect(elsewhere).toEqual({ status: 'failed' })
    expect(seen).toEqual([error])
  })

  it('ends the record cancelled, and the end hook sees the final status', async () => {
    const record: JobRecord = { status: 'running', error: null }
    const ends: string[] = []
    await m.runJob(record, start(), { end: (s) => ends.push(`${s}/${record.status}`) })
    emit(ev.cancelled('j1'))
    expect(record.status).toBe('cancelled')
    expect(ends).toEqual(['cancelled/cancelled'])
  })

  it('fails a running job when the engine restarts under it', async () => {
    const record: JobRecord = { status: 'running', error: null }
    await m.runJob(record, start())
    emit({ type: 'engine.restarted', ok: true, reason: 'The compute engine stopped.' })
    expect(record).toEqual({ status: 'failed', error: { code: 'engine-unavailable', message: 'The compute engine stopped.', details: { constraint: 'stopped' } } })
  })

  it('rejects with the error of a refused call and leaves the record as it was', async () => {
    fake.answer = async () => {
      throw Object.assign(new Error('refused'), { code: 'invalid-arguments' })
    }
    const record: JobRecord = { status: 'running', error: null }
    await expect(m.runJob(record, () => fake.answer('x', {}) as Promise<{ jobId: string }>)).rejects.toThrow('refused')
    expect(record).toEqual({ status: 'running', error: null })
    expect(fake.listeners.size).toBe(0)
  })
})

describe('cancelling a job', () => {
  it('asks the engine through jobs.cancel and says whether it was cancelled', async () => {
    fake.answer = async () => ({ cancelled: true })
    expect(await m.cancelJob('j7')).toBe(true)
    expect(fake.calls).toEqual([{ method: 'jobs.cancel', args: { jobId: 'j7' } }])
  })
})
