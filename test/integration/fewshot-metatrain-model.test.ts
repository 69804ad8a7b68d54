import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import type { ApiEvent } from '../../src/shared/events'
import { maxOf, minOf } from '../../src/shared/stats'
import { ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * The Meta-train tab's "Open as current model" (issue #22 item 7): a run that wrote no model is
 * written from its checkpoint by resuming it to the iterations it reached, which trains nothing more;
 * the written Conv-4 opens as a model without class names and Grad-CAM runs on it.
 */
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')

describe('a meta-trained Conv-4 as the current model', () => {
  it('writes the model of a finished run from its checkpoint without training, opens it, and runs Grad-CAM', async () => {
    const { service, events, until } = jobHarness()
    const dir = tempDir('metascope-metamodel-')
    const args = {
      dataset: { kind: 'folder', dir: DEMO_IMAGES },
      trainClasses: '0-4',
      testClasses: '5-9',
      config: { method: 'protomaml', ways: 2, shots: 1, queries: 1 },
      iterations: 3,
      evalEpisodes: 0,
      checkpoint: join(dir, 'run.ckpt'),
      checkpointEvery: 10
    }
    const finish = async (a: object) => {
      const { jobId } = (await service.call('fewshot.metaTrain', a)) as { jobId: string }
      const end = (await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)) as Extract<ApiEvent, { type: 'job.done' }>
      expect(end.type).toBe('job.done')
      const items = events.filter((e) => e.type === 'job.item' && e.jobId === jobId)
      return { result: end.result as { iterations: number; resumedFrom: number | null; model: string | null; history: unknown[] }, items }
    }
    const trained = await finish(args)
    expect(trained.result.model).toBeNull()
    expect(trained.items).toHaveLength(3)

    const modelOut = join(dir, 'conv4.onnx')
    const written = await finish({ ...args, resume: true, modelOut })
    // Resumed at the iteration it asks for: nothing trained, the history carried over, the model written.
    expect(written.result).toMatchObject({ iterations: 3, resumedFrom: 3, model: modelOut })
    expect(written.items).toHaveLength(0)
    expect(written.result.history).toHaveLength(3)
    expect(existsSync(modelOut)).toBe(true)

    // As the model panel opens it: no labels metadata, so classes go by number (nothing assumed).
    const summary = (await service.call('models.open', { path: modelOut })) as { labels: string[] | null; metadata: Record<string, string> }
    expect(summary.labels).toBeNull()
    expect(JSON.parse(summary.metadata['metascope.fewshot'])).toMatchObject({ method: 'protomaml', ways: 2, iterations: 3 })

    const model = await LoadedModel.open(modelOut)
    expect(model.numClasses).toBe(2)
    const cam = await CamRunner.create(model, { method: 'gradcam', layer: 'auto' })
    try {
      const file = join(DEMO_IMAGES, 'Bag', readdirSync(join(DEMO_IMAGES, 'Bag')).sort()[0])
      const [map] = await cam.run([(await loadImageTensor(file, modelPreprocess(model))).data], [-1])
      const [, h, w] = model.inputChw
      expect(map.map).toHaveLength(h * w)
      expect(map.map.every(Number.isFinite)).toBe(true)
      // A heatmap, not a flat field.
      expect(maxOf(map.map) - minOf(map.map)).toBeGreaterThan(0)
      expect(['0', '1']).toContain(map.target.label)
    } finally {
      await cam.release()
    }
  })
})
