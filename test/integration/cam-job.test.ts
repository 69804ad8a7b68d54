import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CamItem } from '../../src/shared/api'
import { fixture, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

const harness = jobHarness

/** A folder of n real images (copies of the fixtures) for job tests. */
function folder(n: number): string {
  const dir = tempDir()
  const sources = ['animals/chelsea.png', 'objects/coffee.png', 'objects/rocket.jpg', 'people/astronaut.png']
  mkdirSync(join(dir, 'imgs'))
  for (let i = 0; i < n; i++) {
    const src = sources[i % sources.length]
    copyFileSync(fixture('images', ...src.split('/')), join(dir, 'imgs', `img${String(i).padStart(3, '0')}${src.slice(src.lastIndexOf('.'))}`))
  }
  return join(dir, 'imgs')
}

describe('cam.run as a job', () => {
  it('streams one item per image before the job ends, then exports PNG, npy, JSON and CSV', async () => {
    const { service, events, until } = harness()
    const summary = (await service.call('models.open', { path: fixture('models', 'mini_resnet.onnx') })) as { id: string }
    const added = (await service.call('images.add', { paths: [folder(6)] })) as { added: { id: string }[] }
    const { jobId } = (await service.call('cam.run', { modelId: summary.id, imageIds: added.added.map((a) => a.id), batch: 2 })) as { jobId: string }
    const done = await until((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.done')
    const mine = events.filter((e) => 'jobId' in e && e.jobId === jobId)
    const items = mine.filter((e) => e.type === 'job.item').map((e) => (e as { item: CamItem }).item)
    expect(items).toHaveLength(6)
    // Streaming: the first result arrived before the job finished.
    expect(mine.findIndex((e) => e.type === 'job.item')).toBeLessThan(mine.indexOf(done) - 1)
    const ok = items.filter((i): i is Extract<CamItem, { ok: true }> => i.ok)
    expect(ok).toHaveLength(6)
    expect(ok[0].mapPng).toMatch(/^data:image\/png;base64,/)
    expect(ok[0].imageId).toBe(added.added[0].id)
    expect(ok[0].raw).toHaveLength(ok[0].rawShape[0] * ok[0].rawShape[1])
    const progress = mine.filter((e) => e.type === 'job.progress')
    expect(progress.at(-1)).toMatchObject({ done: 6, total: 6 })

    const out = tempDir()
    const exported = (await service.call('cam.export', { resultIds: ok.map((i) => i.resultId), dir: out, colormap: 'viridis', alpha: 0.6 })) as { written: string[] }
    expect(exported.written).toContain(join(out, 'results.csv'))
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')
    expect(csv).toHaveLength(7)
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toHaveLength(6)
    expect(existsSync(join(out, 'img000.gradcam.png'))).toBe(true)
    expect(existsSync(join(out, 'img000.gradcam.cam.npy'))).toBe(true)
  })

  it('cancel stops the engine work: no item arrives after job.cancelled', async () => {
    const { service, events, until } = harness()
    const summary = (await service.call('models.open', { path: fixture('models', 'mini_resnet.onnx') })) as { id: string }
    // Score-CAM runs one forward pass per channel: slow enough to cancel mid-way.
    const { jobId } = (await service.call('cam.run', { modelId: summary.id, paths: [folder(40)], method: 'scorecam', batch: 1 })) as { jobId: string }
    await until((e) => 'jobId' in e && e.jobId === jobId && e.type === 'job.item')
    expect(((await service.call('jobs.cancel', { jobId })) as { cancelled: boolean }).cancelled).toBe(true)
    const end = await until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.cancelled' || e.type === 'job.done'))
    expect(end.type).toBe('job.cancelled')
    await new Promise((r) => setTimeout(r, 200))
    const mine = events.filter((e) => 'jobId' in e && e.jobId === jobId)
    expect(mine.slice(mine.indexOf(end) + 1)).toHaveLength(0)
    expect(mine.filter((e) => e.type === 'job.item').length).toBeLessThan(40)
  })

  it('a bad call is a typed error before any job starts', async () => {
    const { service } = harness()
    const summary = (await service.call('models.open', { path: fixture('models', 'tiny_cnn.onnx') })) as { id: string }
    await expect(service.call('cam.run', { modelId: summary.id, paths: [fixture('images')], target: 9 })).rejects.toMatchObject({ code: 'out-of-range' })
    await expect(service.call('cam.run', { modelId: summary.id, paths: [fixture('images')], layer: 'nope' })).rejects.toMatchObject({ code: 'not-found' })
    await expect(service.call('cam.run', { modelId: 'missing', paths: [fixture('images')] })).rejects.toMatchObject({ code: 'not-found' })
    await expect(service.call('cam.run', { modelId: summary.id })).rejects.toMatchObject({ code: 'invalid-arguments' })
  })
})
