import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import type { ApiEvent } from '../../src/shared/events'
import { ROOT } from '../helpers'
import { startServeProcess, type ServeProcess } from '../serve-process'

/**
 * Safety round 2, item 1: `kill -9` of the engine followed at once by a burst of calls must never take
 * the server down. Every call answers: 200 with a result, or a typed 503 'engine-unavailable' that
 * says it may be retried. Then the restarted engine serves again. Twenty times in a row.
 */
let serve: ServeProcess

beforeAll(async () => {
  serve = await startServeProcess()
})

afterAll(async () => {
  await serve?.stop()
})

async function waitForEngine(previous: number | null): Promise<number> {
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    const pid = serve.enginePid()
    if (pid && pid !== previous) {
      const r = await serve.call('app.info', {}).catch(() => null)
      if (r?.status === 200 && r.body.ok) return pid
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`the engine did not come back:\n${serve.log()}`)
}

describe('the server outlives its engine', () => {
  it('answers a burst of calls right after the engine is killed, 20 times in a row', async () => {
    let pid = await waitForEngine(null)
    const statuses = new Map<number, number>()
    for (let round = 0; round < 20; round++) {
      process.kill(pid, 'SIGKILL')
      const answers = await Promise.all(Array.from({ length: 20 }, () => serve.call('app.info', {})))
      for (const a of answers) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
        if (a.status === 200) expect(a.body.ok).toBe(true)
        else {
          expect(a.status).toBe(503)
          expect(a.body.error).toMatchObject({ code: 'engine-unavailable', details: { retryable: true } })
          expect(a.headers.get('retry-after')).toMatch(/^\d+$/)
        }
      }
      expect(serve.proc.exitCode).toBeNull()
      pid = await waitForEngine(pid)
    }
    // The kills did land while calls were made: some calls were refused as retryable.
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0)
    expect(serve.proc.exitCode).toBeNull()
  })
})

describe('a job whose engine dies', () => {
  it('ends with its own job.failed naming the signal, and cancelling it says why', async () => {
    const pid = await waitForEngine(null)
    const ws = new WebSocket(`${serve.base.replace('http', 'ws')}/api/events`, { headers: { cookie: serve.cookie, origin: serve.base } })
    const events: ApiEvent[] = []
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as ApiEvent))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    try {
      const model = await serve.call('models.open', { path: join(ROOT, 'resources/demo/fashion_cnn.onnx') })
      expect(model.body.ok).toBe(true)
      const images = join(ROOT, 'resources/demo/images')
      // Score-CAM over the demo images many times over: long enough to be killed mid-way.
      const started = await serve.call('cam.run', { modelId: (model.body.value as { id: string }).id, paths: Array(30).fill(images), method: 'scorecam', batch: 1 })
      const { jobId } = started.body.value as { jobId: string }
      const until = Date.now() + 60_000
      while (!events.some((e) => e.type === 'job.item' && e.jobId === jobId) && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      process.kill(pid, 'SIGKILL')
      while (!events.some((e) => e.type === 'job.failed' && e.jobId === jobId) && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      const failed = events.find((e) => e.type === 'job.failed' && e.jobId === jobId)
      expect(failed).toMatchObject({ kind: 'cam', error: { code: 'engine-unavailable', message: expect.stringContaining('killed by SIGKILL'), details: { signal: 'SIGKILL' } } })
      expect(events.some((e) => (e.type === 'job.done' || e.type === 'job.cancelled') && e.jobId === jobId)).toBe(false)
      await waitForEngine(pid)
      const cancel = await serve.call('jobs.cancel', { jobId })
      expect(cancel.body).toEqual({ ok: true, value: { cancelled: false, reason: expect.stringMatching(/failed: The compute engine stopped \(killed by SIGKILL\)/) } })
    } finally {
      ws.close()
    }
  })
})
