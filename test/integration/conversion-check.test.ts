import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ConversionCheck, ImagesAddResult, ModelSummary } from '../../src/shared/api'
import type { ApiEvent } from '../../src/shared/events'
import { fixture, ROOT } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * The conversion check (issue #20): a TensorFlow.js model run by TensorFlow.js itself against the
 * converted graph in onnxruntime, on the committed tfjs fixtures (LayersModel, GraphModel, a
 * quantized Teachable-Machine-style model), on probe inputs and on real images.
 */
const h = jobHarness()

async function check(modelId: string, imageIds?: string[]): Promise<ConversionCheck> {
  const { jobId } = (await h.service.call('models.checkConversion', { modelId, ...(imageIds ? { imageIds } : {}) })) as { jobId: string }
  const end = (await h.until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))) as ApiEvent
  if (end.type !== 'job.done') throw new Error(JSON.stringify(end))
  return end.result as ConversionCheck
}

describe('the conversion check', () => {
  it.each([
    ['small_cnn', 'model.json'],
    ['small_graph', 'model.json'],
    ['teachable', 'teachable.json']
  ])('%s: the converted graph agrees with TensorFlow.js on probe inputs', async (dir, file) => {
    const m = (await h.service.call('models.open', { path: fixture('tfjs', dir, file) })) as ModelSummary
    const r = await check(m.id)
    expect(r).toMatchObject({ source: 'probe', images: 8, backend: expect.stringMatching(/@tensorflow\/tfjs/) })
    expect(r.maxAbs).toBeGreaterThan(0)
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, r.maxAbs))
  }, 60_000)

  it('on the user\'s images, preprocessed as for Grad-CAM', async () => {
    const m = (await h.service.call('models.open', { path: fixture('tfjs', 'small_cnn', 'model.json') })) as ModelSummary
    const added = (await h.service.call('images.add', { paths: [join(ROOT, 'test', 'fixtures', 'images', 'animals')] })) as ImagesAddResult
    const r = await check(m.id, added.added.map((a) => a.id))
    expect(r).toMatchObject({ source: 'images', images: added.added.length })
    expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, r.maxAbs))
  }, 60_000)

  it('an ONNX model has no conversion to check', async () => {
    const m = (await h.service.call('models.open', { path: join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx') })) as ModelSummary
    const { jobId } = (await h.service.call('models.checkConversion', { modelId: m.id })) as { jobId: string }
    const end = await h.until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))
    expect(end).toMatchObject({ type: 'job.failed', error: { code: 'unsupported', message: expect.stringMatching(/no conversion to check/) } })
  })
})
