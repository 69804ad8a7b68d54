import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCamBatches, type CamOutcome } from '../../src/main/engine/cam/batch-job'
import { collectInputs, modelPreprocess } from '../../src/main/engine/model/inputs'
import { layerLayout, resolveLayer } from '../../src/main/engine/model/layers'
import type { CamMethod } from '../../src/main/engine/cam/methods'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { encodeNpy } from '../../src/main/engine/data/npy'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { pearson } from '../cam-reference'
import { fixture, tempDir } from '../helpers'
import { layoutTwins } from '../synthetic-models'

/** NCHW [C,H,W] image -> NHWC [H,W,C]. */
function toNhwc(x: Float32Array, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[p * c + k] = x[k * h * w + p]
  return out
}

describe('channels-last (NHWC) models, as tf2onnx writes them', () => {
  const { nchw, nhwc } = layoutTwins(tempDir())
  const image = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.11))

  it('detects the input layout and the layer layout', async () => {
    const m = await LoadedModel.open(nhwc)
    expect(m.layout).toBe('NHWC')
    expect(m.inputChw).toEqual([3, 8, 8])
    expect(m.inputDims(4)).toEqual([4, 8, 8, 3])
    // auto looks through the Transpose that tf2onnx puts before the pool, to the op that made the map
    expect(resolveLayer(m.index, m.shapes, m.types, 'auto', nhwc)).toBe('act_nchw')
    expect(layerLayout(m.index, 'act')).toBe('NHWC')
    const twin = await LoadedModel.open(nchw)
    expect(layerLayout(twin.index, 'act')).toBe('NCHW')
  })

  it.each(['gradcam', 'gradcam++', 'layercam', 'eigencam', 'scorecam'] as CamMethod[])('%s gives the same map as the NCHW twin', async (method) => {
    const a = await CamRunner.create(await LoadedModel.open(nchw), { method, layer: 'act' })
    const b = await CamRunner.create(await LoadedModel.open(nhwc), { method, layer: 'auto' })
    const [ra] = await a.run([image], [-1])
    const [rb] = await b.run([toNhwc(image, 3, 8, 8)], [-1])
    expect(rb.target.index).toBe(ra.target.index)
    expect(rb.target.logit).toBeCloseTo(ra.target.logit, 4)
    expect(pearson(ra.map, rb.map)).toBeGreaterThan(0.9999)
    for (let p = 0; p < ra.raw.length; p++) expect(rb.raw[p]).toBeCloseTo(ra.raw[p], 4)
    await a.release()
    await b.release()
  })

  it('feeds images in NHWC and checks .npy tensors against the NHWC shape', async () => {
    const m = await LoadedModel.open(nhwc)
    expect(modelPreprocess(m).layout).toBe('NHWC')
    const dir = tempDir()
    writeFileSync(join(dir, 'good.npy'), encodeNpy([1, 8, 8, 3], toNhwc(image, 3, 8, 8)))
    writeFileSync(join(dir, 'nchw.npy'), encodeNpy([1, 3, 8, 8], image))
    const runner = await CamRunner.create(m, { method: 'gradcam', layer: 'auto' })
    const { inputs } = await collectInputs([join(dir, 'good.npy'), join(dir, 'nchw.npy'), fixture('images', 'objects', 'coffee.png')])
    const outcomes: CamOutcome[] = []
    await runCamBatches({ runner, inputs, preprocess: modelPreprocess(m), target: -1, batch: 4, onOutcome: (o) => void outcomes.push(o) })
    const byStem = Object.fromEntries(outcomes.map((o) => [o.input.stem, o]))
    expect(byStem.good.ok).toBe(true)
    expect(byStem.coffee.ok).toBe(true)
    const bad = byStem.nchw
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error.message).toMatch(/nchw\.npy has shape \[1, 3, 8, 8\].*\[1, 8, 8, 3\]/)
  })
})
