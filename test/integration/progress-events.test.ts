import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CallProgress } from '../../src/shared/events'
import type { WorkspaceDraft } from '../../src/shared/api'
import { ROOT, demoClasses, fixture, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

const DEMO = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')

/** The job's progress events, and the index of its first item among its events. */
async function camEvents(method: string, images: number) {
  const { service, events, until } = jobHarness()
  const model = (await service.call('models.open', { path: DEMO })) as { id: string }
  const added = (await service.call('images.add', { paths: [demoClasses(['Bag', 'Coat', 'Shirt'], 4)] })) as { added: { id: string }[] }
  const { jobId } = (await service.call('cam.run', { modelId: model.id, imageIds: added.added.slice(0, images).map((a) => a.id), method })) as { jobId: string }
  await until((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.done')
  const mine = events.filter((e) => 'jobId' in e && e.jobId === jobId)
  const progress = mine.flatMap((e) => (e.type === 'job.progress' ? [e] : []))
  return { mine, progress, firstItem: mine.findIndex((e) => e.type === 'job.item') }
}

describe('Score-CAM progress within an image', () => {
  it('reports each masked batch of each image, before the batch streams its maps, and never goes back', async () => {
    const { mine, progress, firstItem } = await camEvents('scorecam', 10)
    const steps = progress.filter((p) => p.step)
    // The demo's last conv has 64 channels, masked 16 at a time: 0, 16, 32, 48, 64 per image.
    expect(new Set(steps.map((p) => p.step!.total))).toEqual(new Set([64]))
    expect(steps.filter((p) => p.done === 0).map((p) => p.step!.done)).toEqual([0, 16, 32, 48, 64])
    // Images 1-8 run as one batch (the default): their masks are reported before any map arrives.
    expect(mine.findIndex((e) => e.type === 'job.progress' && e.step && e.step.done > 0)).toBeLessThan(firstItem)
    expect(steps.filter((p) => mine.indexOf(p) < firstItem).map((p) => p.done)).toContain(7)
    const fraction = progress.map((p) => p.done + (p.step ? p.step.done / p.step.total : 0))
    for (let i = 1; i < fraction.length; i++) expect(fraction[i], `event ${i}`).toBeGreaterThanOrEqual(fraction[i - 1])
    expect(progress.at(-1)).toMatchObject({ done: 10, total: 10 })
  })

  it('a gradient method, one graph run per batch, has no steps', async () => {
    const { progress } = await camEvents('gradcam', 4)
    expect(progress.some((p) => p.step)).toBe(false)
    expect(progress.at(-1)).toMatchObject({ done: 4, total: 4 })
  })
})

describe('phases of calls that are not jobs', () => {
  const phases = (events: unknown[], callId: string) => (events as CallProgress[]).filter((e) => e.type === 'call.progress' && e.callId === callId)

  it('models.open says its phases under the caller-given id, and nothing without one', async () => {
    const { service, events } = jobHarness()
    await service.call('models.open', { path: DEMO, progressId: 'onnx-1' })
    expect(phases(events, 'onnx-1').map((e) => e.phase)).toEqual(['reading', 'preparing', 'probing'])
    await service.call('models.open', { path: fixture('tfjs', 'small_graph', 'model.json'), progressId: 'tfjs-1' })
    expect(phases(events, 'tfjs-1').map((e) => e.phase)).toEqual(['reading', 'converting', 'probing'])
    const before = events.length
    await service.call('models.open', { path: DEMO })
    expect(events.slice(before).filter((e) => e.type === 'call.progress')).toEqual([])
  })

  it('workspace.save counts the bytes of maps copied, then writes; workspace.open counts the results read back', async () => {
    const { service, events, until } = jobHarness()
    const model = (await service.call('models.open', { path: DEMO })) as { id: string; path: string }
    const added = (await service.call('images.add', { paths: [demoClasses(['Bag'], 3)] })) as { added: { id: string }[] }
    const { jobId } = (await service.call('cam.run', { modelId: model.id, imageIds: added.added.map((a) => a.id), hold: true })) as { jobId: string }
    await until((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.done')
    const items = events.flatMap((e) => (e.type === 'job.item' && e.jobId === jobId ? [e.item as { ok: true; resultId: string; imageId: string }] : []))
    const draft: WorkspaceDraft = {
      format: 'metascope-workspace',
      version: 2,
      savedAt: new Date().toISOString(),
      model: { path: model.path },
      images: [],
      settings: { method: 'gradcam', layer: 'auto', target: 'top1', colormap: 'jet', alpha: 0.5, sharedScale: false, signView: 'magnitude' },
      runs: [{ id: jobId, modelId: model.id, modelPath: model.path, method: 'gradcam', layer: 'auto', target: 'top1', createdAt: new Date().toISOString(), status: 'done', items: items.map((i) => ({ ok: true, resultId: i.resultId, imageId: i.imageId })) }]
    }
    const dir = join(tempDir(), 'ws')
    await service.call('workspace.save', { dir, workspace: draft, progressId: 'save-1' })
    const saved = phases(events, 'save-1')
    const bytes = readdirSync(join(dir, 'results')).reduce((n, f) => n + statSync(join(dir, 'results', f)).size, 0)
    expect(saved.map((e) => e.phase)).toEqual(['maps', ...Array(6).fill('maps'), 'writing'])
    expect(saved.map((e) => e.done).slice(0, 7)).toEqual([...saved.map((e) => e.done).slice(0, 7)].sort((a, b) => a - b))
    expect(saved[6]).toMatchObject({ done: bytes, total: bytes })
    await service.call('workspace.open', { dir, progressId: 'open-1' })
    expect(phases(events, 'open-1').map((e) => [e.phase, e.done, e.total])).toEqual([['reading', 0, 0], ['reopening', 0, 3], ['reopening', 1, 3], ['reopening', 2, 3], ['reopening', 3, 3]])
  })
})
