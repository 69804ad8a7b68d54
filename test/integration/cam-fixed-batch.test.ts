import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import type { CamItem } from '../../src/shared/api'
import { fixture, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/** mini_resnet with its batch axis fixed to `n` (as some exporters write it). */
function fixedBatchModel(n: number): string {
  const model = onnx.ModelProto.decode(readFileSync(fixture('models', 'mini_resnet.onnx')))
  for (const v of [...model.graph!.input!, ...model.graph!.output!]) v.type!.tensorType!.shape!.dim![0] = { dimValue: n }
  const path = join(tempDir(), `mini_resnet_batch${n}.onnx`)
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

async function camRun(modelPath: string, paths: string[], batch: number): Promise<CamItem[]> {
  const { service, events, until } = jobHarness()
  const summary = (await service.call('models.open', { path: modelPath })) as { id: string }
  const { jobId } = (await service.call('cam.run', { modelId: summary.id, paths, batch })) as { jobId: string }
  const end = await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)
  expect(end.type).toBe('job.done')
  return events.filter((e) => e.type === 'job.item' && e.jobId === jobId).map((e) => (e as { item: CamItem }).item)
}

describe('models with a fixed batch size', () => {
  it('gives every image its map: short batches are padded, and the maps equal the dynamic model', async () => {
    const photos = ['animals/chelsea.png', 'objects/coffee.png', 'objects/rocket.jpg', 'people/astronaut.png'].map((p) => fixture('images', ...p.split('/')))
    const fixed = await camRun(fixedBatchModel(3), photos, 8)
    const dynamic = await camRun(fixture('models', 'mini_resnet.onnx'), photos, 8)
    expect(fixed.map((i) => i.ok)).toEqual([true, true, true, true])
    for (const [i, item] of fixed.entries()) {
      const a = item as Extract<CamItem, { ok: true }>
      const b = dynamic[i] as Extract<CamItem, { ok: true }>
      expect(a.file).toBe(b.file)
      expect(a.target.index).toBe(b.target.index)
      a.raw.forEach((v, k) => expect(Math.abs(v - b.raw[k])).toBeLessThan(1e-4))
    }
  })
})
