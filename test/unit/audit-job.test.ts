import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AuditImage, AuditResult, AUDIT_PHASES } from '../../src/shared/audit'
import { ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const settings = { methods: ['gradcam'], steps: 4, roadPercentiles: [50], sanityImages: 2, sanitySteps: 2, worst: 2 }

describe('the audit.run API job (what the Audit view calls)', () => {
  it('streams one item per image, reports progress by phase, and returns the summary and the report paths', async () => {
    const { service, events, until } = jobHarness()
    const out = tempDir('metascope-audit-job-')
    const { jobId } = (await service.call('audit.run', { modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, out, settings })) as { jobId: string }
    const end = await until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))
    expect(end.type).toBe('job.done')
    const result = AuditResult.parse((end as { result: unknown }).result)
    expect(result.summary.images).toBe(40)
    expect(result.summary.calibration?.accuracy).toBe(0.8)
    expect(result.report).toBe(join(out, 'report.html'))
    expect(existsSync(result.report)).toBe(true)
    expect(result.downloadId).toMatch(/^[0-9a-f-]{36}$/)
    expect(service.downloadPath(result.downloadId!)).toBe(result.report)
    const items = events.filter((e) => e.type === 'job.item' && e.jobId === jobId).map((e) => AuditImage.parse((e as { item: unknown }).item))
    expect(items).toHaveLength(40)
    expect(items[0].methods?.gradcam.deletion).toBeTypeOf('number')
    const phases = new Set(events.filter((e) => e.type === 'job.progress' && e.jobId === jobId).map((e) => (e as { phase: string }).phase))
    expect([...phases].every((p) => (AUDIT_PHASES as readonly string[]).includes(p))).toBe(true)
    expect(phases.has('computing') && phases.has('sanity')).toBe(true)
  }, 120_000)

  it('is cancelled between batches', async () => {
    const { service, until } = jobHarness()
    const { jobId } = (await service.call('audit.run', { modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, out: tempDir(), settings: { ...settings, batch: 1 } })) as { jobId: string }
    await until((e) => e.type === 'job.item' && e.jobId === jobId)
    await service.call('jobs.cancel', { jobId })
    const end = await until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.cancelled' || e.type === 'job.failed'))
    expect(end.type).toBe('job.cancelled')
  }, 60_000)

  it('bad arguments are call errors before any job starts', async () => {
    const { service } = jobHarness()
    await expect(service.call('audit.run', { modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, shard: '5/4' })).rejects.toMatchObject({ code: 'invalid-arguments' })
    await expect(service.call('audit.run', { modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, settings: { methods: ['nope'] } })).rejects.toMatchObject({ code: 'invalid-arguments' })
  })
})
