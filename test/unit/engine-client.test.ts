import { describe, expect, it } from 'vitest'
import type { ApiEvent } from '../../src/shared/events'
import { EngineClient, type EngineChannel } from '../../src/main/host/engine-client'
import type { EngineToHost, HostToEngine } from '../../src/main/host/protocol'
import { restartDelay, type RestartPolicy } from '../../src/main/host/restart-policy'

interface FakeEngine {
  die(code: number | null, signal?: string): void
  sent: HostToEngine[]
  /** Further sends fail as a closed IPC channel does. */
  breakPipe(): void
  emit(e: ApiEvent): void
}

/**
 * In-memory engines: answer calls with their method name ('start-job' answers a job id, 'hang' never
 * answers), can be made to die, and (`readyAfter`) say ready only on the given launches.
 */
function fakeEngines(o: { silent?: (launch: number) => boolean } = {}) {
  const launched: FakeEngine[] = []
  const launch = (): EngineChannel => {
    let onMessage: (m: EngineToHost) => void = () => {}
    let onExit: (c: number | null, s?: string | null) => void = () => {}
    const sent: HostToEngine[] = []
    let broken = false
    launched.push({ die: (code, signal) => onExit(code, signal ?? null), sent, breakPipe: () => (broken = true), emit: (event) => onMessage({ kind: 'event', event }) })
    if (!o.silent?.(launched.length)) queueMicrotask(() => onMessage({ kind: 'ready' }))
    return {
      send: (msg, onFailed) => {
        if (broken) return void queueMicrotask(() => onFailed(new Error('channel closed')))
        sent.push(msg)
        if (msg.kind !== 'call' || msg.method === 'hang') return
        const value = msg.method === 'start-job' ? { jobId: `job-${msg.id}` } : msg.method === 'jobs.cancel' ? { cancelled: false, reason: 'engine answered' } : msg.method
        queueMicrotask(() => onMessage({ kind: 'reply', id: msg.id, ok: true, value }))
      },
      onMessage: (fn) => (onMessage = fn),
      onExit: (fn) => (onExit = fn),
      kill: () => {}
    }
  }
  return { launch, launched }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('EngineClient supervision', () => {
  it('fails pending calls as retryable, restarts the engine and tells listeners', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    const events: ApiEvent[] = []
    client.onEvent((e) => events.push(e))
    await client.ready
    const hanging = client.call('hang', {})
    launched[0].die(139)
    await expect(hanging).rejects.toMatchObject({ code: 'engine-unavailable', message: expect.stringContaining('exit code 139'), details: { retryable: true, exitCode: 139 } })
    await client.ready
    expect(launched).toHaveLength(2)
    await expect(client.call('app.info', {})).resolves.toBe('app.info')
    await tick()
    expect(events).toEqual([{ type: 'engine.restarted', ok: true, reason: expect.stringContaining('exit code 139') }])
  })

  it('a send that fails (the pipe broke as the engine died) rejects that call, and nothing throws', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    await client.ready
    launched[0].breakPipe()
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'engine-unavailable', details: { retryable: true } })
  })

  it('calls made while the engine restarts are refused at once with a retry hint', async () => {
    const { launch, launched } = fakeEngines()
    const policy: RestartPolicy = { burst: 1, windowMs: 60_000, startupFailures: 3 }
    const client = new EngineClient(launch, policy)
    await client.ready
    launched[0].die(null, 'SIGKILL')
    await client.ready
    launched[1].die(null, 'SIGKILL')
    // The second restart within the window waits: calls meanwhile say when to come back.
    const refused = await client.call('app.info', {}).catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: 'engine-unavailable', message: expect.stringContaining('killed by SIGKILL'), details: { retryable: true, retryAfterMs: expect.any(Number) } })
    expect(launched).toHaveLength(2)
    client.close()
  })

  it('keeps restarting an engine that served and died, at a limited pace', () => {
    const policy: RestartPolicy = { burst: 3, windowMs: 1000, startupFailures: 3 }
    expect(restartDelay([], 0, policy)).toBe(0)
    expect(restartDelay([0, 100], 200, policy)).toBe(0)
    expect(restartDelay([0, 100, 200], 300, policy)).toBe(700)
    expect(restartDelay([0, 100, 200], 1000, policy)).toBe(0)
  })

  it('leaves down an engine that dies before it is ready, repeatedly, and says so', async () => {
    const { launch, launched } = fakeEngines({ silent: (n) => n > 1 })
    const client = new EngineClient(launch)
    const events: ApiEvent[] = []
    client.onEvent((e) => events.push(e))
    await client.ready
    launched[0].die(1)
    for (let i = 1; i <= 3; i++) launched[i].die(1)
    expect(launched).toHaveLength(4)
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'engine-unavailable', message: expect.stringMatching(/restart Metascope/), details: { retryable: false } })
    expect(events.at(-1)).toMatchObject({ type: 'engine.restarted', ok: false })
  })

  it('does not restart an engine that was closed on purpose', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    await client.ready
    client.close()
    launched[0].die(0)
    expect(launched).toHaveLength(1)
  })
})

describe('EngineClient jobs when the engine dies', () => {
  it('each running job gets its own job.failed naming the signal, and cancelling it says why', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    const events: ApiEvent[] = []
    client.onEvent((e) => events.push(e))
    await client.ready
    const a = (await client.call('start-job', {})) as { jobId: string }
    const b = (await client.call('start-job', {})) as { jobId: string }
    const finished = (await client.call('start-job', {})) as { jobId: string }
    launched[0].emit({ type: 'job.progress', jobId: a.jobId, kind: 'cam', done: 1, total: 4, phase: 'computing' })
    launched[0].emit({ type: 'job.done', jobId: finished.jobId, kind: 'cam', result: {} })
    launched[0].die(null, 'SIGKILL')
    const failed = events.filter((e) => e.type === 'job.failed')
    expect(failed).toEqual([
      { type: 'job.failed', jobId: a.jobId, kind: 'cam', error: expect.objectContaining({ code: 'engine-unavailable', message: expect.stringContaining('killed by SIGKILL'), details: expect.objectContaining({ signal: 'SIGKILL' }) }) },
      { type: 'job.failed', jobId: b.jobId, kind: 'start-job', error: expect.objectContaining({ code: 'engine-unavailable' }) }
    ])
    await client.ready
    await expect(client.call('jobs.cancel', { jobId: a.jobId })).resolves.toEqual({ cancelled: false, reason: expect.stringMatching(/failed: The compute engine stopped \(killed by SIGKILL\)/) })
    await expect(client.call('jobs.cancel', { jobId: finished.jobId })).resolves.toEqual({ cancelled: false, reason: 'The job already finished.' })
    // A job the host never saw is the engine's to answer.
    await expect(client.call('jobs.cancel', { jobId: 'other' })).resolves.toEqual({ cancelled: false, reason: 'engine answered' })
  })
})
