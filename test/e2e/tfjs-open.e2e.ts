import { copyFileSync, existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadImageTensor } from '../../src/main/engine/data/image-tensor'
import { modelPreprocess } from '../../src/main/engine/model/inputs'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { fixture, tempDir } from '../helpers'
import { dropFiles, startHarness, type Harness } from './harness'

/**
 * Opening TensorFlow.js models (model.json + weight shards) in the app, browser mode: real server,
 * real engine process, real Chromium, the committed fixtures of scripts/fixtures/make_tfjs_fixtures.ts.
 * A typed path opens the json where it lies; the file picker and a drop upload the json with its
 * shards into one upload folder; the json alone gets an error naming the missing shard.
 */
let h: Harness
const SMALL = fixture('tfjs', 'small_cnn')
const SMALL_JSON = join(SMALL, 'model.json')
const SMALL_SHARD = 'group1-shard1of1.bin'
const TEACHABLE = fixture('tfjs', 'teachable')
const work = tempDir('metascope-tfjs-e2e-')
const IMAGES = ['cat.jpg', 'coffee.png']

const panel = () => h.page.getByTestId('model-panel')
/** The open model's full path (the File row's title) once its summary shows `name`. */
async function openedPath(name: string): Promise<string> {
  const file = panel().getByTestId('model-summary').locator('dd').first()
  await h.page.waitForFunction((n) => document.querySelector('[data-testid="model-summary"] dd')?.textContent?.trim() === n, name, { timeout: 120_000 })
  return (await file.getAttribute('title')) ?? ''
}

async function waitRun(index: number): Promise<void> {
  await h.page.waitForFunction(
    (i) => /· (done|failed|cancelled)\)/.test(document.querySelectorAll('[data-testid="run-tab"]')[i]?.textContent ?? ''),
    index,
    { timeout: 120_000 }
  )
  expect(await h.page.getByTestId('run-tab').nth(index).textContent()).toMatch(/\(2 · done\)/)
}

/** tfjs's own predict (its own loader reads the shards) on the exact input the engine feeds the model. */
async function tfjsProbabilities(jsonPath: string, imagePath: string): Promise<number[]> {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as { modelTopology: object; format?: string; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }
  const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p)))))
  await tf.setBackend('cpu')
  const net = await tf.loadLayersModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
    })
  })
  const model = await LoadedModel.open(jsonPath)
  const x = (await loadImageTensor(imagePath, modelPreprocess(model))).data
  const y = net.predict(tf.tensor(x, model.inputDims(1))) as tf.Tensor
  return Array.from(await y.data())
}

beforeAll(async () => {
  for (const [cls, name] of [['animals', 'cat.jpg'], ['objects', 'coffee.png']]) copyFileSync(fixture('images', cls, name), join(work, name))
  h = await startHarness()
  await h.page.goto(h.url)
  await h.page.getByTestId('backend-ort').waitFor()
})

afterAll(async () => {
  await h?.close()
})

describe('TensorFlow.js models in the app', () => {
  it('opens a model.json typed as a path and runs Grad-CAM: the probabilities are tfjs predict on the same input', async () => {
    await h.page.getByTestId('model-path-input').fill(SMALL_JSON)
    await h.page.getByTestId('model-path-submit').click()
    expect(await openedPath('model.json')).toBe(SMALL_JSON)
    expect(await panel().getByTestId('model-format').textContent()).toBe('TensorFlow.js layers')
    await h.page.getByTestId('images-path-input').fill(work)
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('2'))
    await h.page.getByTestId('cam-run').click()
    await waitRun(0)
    expect(await h.page.getByTestId('heat-card-failed').count()).toBe(0)
    for (const name of IMAGES) {
      const card = h.page.locator(`[data-testid="heat-card"][aria-label="${name}"]`).first()
      const [label, shown] = await card.getByTestId('predictions').locator('li').first().locator('span').allTextContents()
      const probs = await tfjsProbabilities(SMALL_JSON, join(work, name))
      const top = probs.reduce((best, p, i) => (p > probs[best] ? i : best), 0)
      // No labels: the class index is the label; the UI shows percent to one decimal.
      expect(label).toBe(String(top))
      expect(Math.abs(parseFloat(shown) - 100 * probs[top])).toBeLessThanOrEqual(0.051)
    }
    await panel().evaluate((e) => e.scrollIntoView())
    await h.screenshot('tfjs-01-path-gradcam')
  })

  it('uploads model.json with its shard through the file picker into one folder and opens it there', async () => {
    await h.page.getByTestId('model-file-input').setInputFiles([join(TEACHABLE, 'teachable.json'), join(TEACHABLE, 'teachable.weights.bin')])
    const path = await openedPath('teachable.json')
    // The uploaded copy, with the shard beside it, not the fixture itself.
    expect(path).not.toBe(join(TEACHABLE, 'teachable.json'))
    expect(existsSync(join(dirname(path), 'teachable.weights.bin'))).toBe(true)
    expect(readFileSync(join(dirname(path), 'teachable.weights.bin')).equals(readFileSync(join(TEACHABLE, 'teachable.weights.bin')))).toBe(true)
    expect(await panel().getByTestId('model-format').textContent()).toBe('TensorFlow.js layers')
    await h.page.getByTestId('cam-run').click()
    await waitRun(1)
    expect(await h.page.getByTestId('heat-card-failed').count()).toBe(0)
    await h.screenshot('tfjs-02-picker-upload')
  })

  it('model.json alone: the error names the missing shard file, and the open model stays', async () => {
    await h.page.getByTestId('model-file-input').setInputFiles([SMALL_JSON])
    const note = panel().getByTestId('error-note')
    await note.waitFor()
    const message = (await note.textContent()) ?? ''
    expect(message).toContain(SMALL_SHARD)
    expect(message).toContain('model.json')
    // Said in a browser's terms: give the file with it, not copy it beside it.
    expect(message).toMatch(/Choose them together with model\.json under “Upload model files…”/)
    expect(await openedPath('teachable.json')).not.toBe('')
    await panel().evaluate((e) => e.scrollIntoView())
    await h.screenshot('tfjs-03-missing-shard')
  })

  it('a drop of model.json with its shard uploads both and opens the model', async () => {
    await dropFiles(h.page, '[data-testid="model-panel"]', [
      { name: 'model.json', bytes: readFileSync(SMALL_JSON) },
      { name: SMALL_SHARD, bytes: readFileSync(join(SMALL, SMALL_SHARD)) }
    ])
    const path = await openedPath('model.json')
    expect(path).not.toBe(SMALL_JSON)
    expect(readFileSync(join(dirname(path), SMALL_SHARD)).equals(readFileSync(join(SMALL, SMALL_SHARD)))).toBe(true)
    expect(await panel().getByTestId('error-note').count()).toBe(0)
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
