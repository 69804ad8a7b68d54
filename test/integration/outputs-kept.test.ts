import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { AuditResult } from '../../src/shared/audit'
import type { ApiEvent } from '../../src/shared/events'
import { demoClasses, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * Outputs are kept, not recomputed (issue #20 item 4): saving an audit's report or an adapted model
 * copies what the job wrote, and starts no engine computation (the job log shows no new job and no
 * event at all); a saved audit folder reopens as a finished run.
 */
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const h = jobHarness()


async function finished(method: string, args: unknown): Promise<{ jobId: string; result: Record<string, unknown> }> {
  const { jobId } = (await h.service.call(method, args)) as { jobId: string }
  const end = (await h.until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))) as Extract<ApiEvent, { type: 'job.done' }>
  expect(end.type).toBe('job.done')
  return { jobId, result: end.result as Record<string, unknown> }
}

/** Runs `fn` and returns the events the engine emitted meanwhile (none: nothing was computed). */
async function eventsDuring(fn: () => Promise<unknown>): Promise<ApiEvent[]> {
  const before = h.events.length
  await fn()
  await new Promise((r) => setTimeout(r, 50))
  return h.events.slice(before)
}

let audit: { jobId: string; result: AuditResult }
let adapt: { jobId: string; result: Record<string, unknown> }

beforeAll(async () => {
  const images = demoClasses()
  const a = await finished('audit.run', { modelPath: DEMO_MODEL, imagesDir: images, settings: { methods: ['gradcam'], metrics: ['deletion', 'confidence', 'calibration'], steps: 2, worst: 1 } })
  audit = { jobId: a.jobId, result: a.result as unknown as AuditResult }
  adapt = await finished('fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: images, queryDir: images })
})

describe('outputs are kept, not recomputed', () => {
  it('saving an audit copies its report and data, and starts nothing', async () => {
    const dir = join(tempDir(), 'report')
    let saved!: { dir: string; files: string[]; main: string }
    const during = await eventsDuring(async () => (saved = (await h.service.call('outputs.save', { jobId: audit.jobId, dir })) as typeof saved))
    expect(during).toEqual([])
    expect(saved.main).toBe(join(dir, 'report.html'))
    for (const f of [audit.result.report, audit.result.json, ...audit.result.csv]) {
      const name = f.split('/').pop()!
      expect(readFileSync(join(dir, name)).equals(readFileSync(f)), name).toBe(true)
    }
  })

  it('saving an adapted model copies the model and its predictions (pointing at the copy), and starts nothing', async () => {
    const dir = join(tempDir(), 'adapted')
    const during = await eventsDuring(() => h.service.call('outputs.save', { jobId: adapt.jobId, dir }))
    expect(during).toEqual([])
    const original = adapt.result.adaptedModel as string
    expect(readFileSync(join(dir, 'model.onnx')).equals(readFileSync(original))).toBe(true)
    const predictions = JSON.parse(readFileSync(join(dir, 'predictions.json'), 'utf8')) as { adaptedModel: string; accuracyAfter: number }
    expect(predictions.adaptedModel).toBe(join(dir, 'model.onnx'))
    expect(predictions.accuracyAfter).toBe(adapt.result.accuracyAfter)
  })

  it('a saved audit reopens as a finished run, and saves again', async () => {
    const dir = join(tempDir(), 'kept')
    await h.service.call('outputs.save', { jobId: audit.jobId, dir })
    let opened!: { jobId: string; result: AuditResult; images: unknown[] }
    const during = await eventsDuring(async () => (opened = (await h.service.call('audit.open', { dir })) as typeof opened))
    expect(during).toEqual([])
    expect(opened.result.summary).toEqual(audit.result.summary)
    expect(opened.images).toHaveLength(4)
    expect(opened.result.report).toBe(join(dir, 'report.html'))
    const again = (await h.service.call('outputs.save', { jobId: opened.jobId, dir: join(tempDir(), 'again') })) as { files: string[] }
    expect(again.files.map((f) => f.split('/').pop()).sort()).toEqual(['audit.json', 'report.html', ...audit.result.csv.map((f) => f.split('/').pop()!)].sort())
  })

  it('an unknown job id is a clear error', async () => {
    await expect(h.service.call('outputs.save', { jobId: 'nope', dir: tempDir() })).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/run it again/) })
  })
})
