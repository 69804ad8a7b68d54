import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { adapterJson, initialAdapter } from '../../src/main/engine/fewshot/adapt/adapter/file'
import { modelSha256 } from '../../src/main/engine/fewshot/adapt/embed'
import { resolveFeatures } from '../../src/main/engine/fewshot/adapt/features'
import { findHead } from '../../src/main/engine/fewshot/adapt/head'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { AdapterRecord } from '../../src/shared/fewshot-adapter'
import { rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * fewshot.adapterInfo, which the Few-shot view calls to show what a chosen adapter file was trained on
 * before any run: the file's own record, or the error fewshot.adapt would give for it, with the path
 * in its details so the UI can phrase it in its own words.
 */
const MODEL = join(ROOT, 'resources', 'demo', 'fewshot', 'fashion_cnn_0to4.onnx')

describe('fewshot.adapterInfo', () => {
  it('says what an adapter file was trained on', async () => {
    const model = await LoadedModel.open(MODEL)
    const features = resolveFeatures(model, findHead(model))
    const path = join(tempDir(), 'identity.json')
    const training = { folder: 'classes', classes: ['a', 'b'], images: 8, ways: 2, shots: 1, queries: 3, iterations: 7, metaBatch: 2, metaRate: 1e-5, innerSteps: 100, innerRate: 0.1, order: 'first' as const, seed: 0, init: 'identity' as const }
    writeFileSync(path, adapterJson({ tensor: features.tensor, inWidth: features.width, outWidth: features.width, weight: initialAdapter(features.width, features.width, 0), model: { file: model.file, sha256: modelSha256(model) }, training }))
    const record = AdapterRecord.parse(await jobHarness().service.call('fewshot.adapterInfo', { path }))
    expect(record).toMatchObject({ file: 'identity.json', tensor: features.tensor, inWidth: features.width, outWidth: features.width, trainedOn: { file: model.file, sha256: modelSha256(model) }, training: { iterations: 7, classes: ['a', 'b'] } })
  })

  it('refuses a file that is not an adapter as adaptation would, the path and rule in the details', async () => {
    const dir = tempDir()
    const text = join(dir, 'notes.json')
    writeFileSync(text, 'weights {')
    const { service } = jobHarness()
    const err = await rejection(service.call('fewshot.adapterInfo', { path: text }))
    expect(err).toMatchObject({ code: 'bad-file', details: { field: 'adapter', constraint: 'not-json', path: text } })
    expect(err.message).toContain(text)
    const missing = await rejection(service.call('fewshot.adapterInfo', { path: join(dir, 'gone.json') }))
    expect(missing).toMatchObject({ code: 'not-found', details: { field: 'adapter', constraint: 'not-found', path: join(dir, 'gone.json') } })
  })
})
