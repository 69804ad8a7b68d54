import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, tempDir } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * Preprocessing is honest (#21 item 6), in browser mode with the real server, engine and Chromium:
 * a committed TensorFlow.js model that states nothing about its preprocessing (small_cnn) opens;
 * the panel says so and asks, every candidate one click away; "Suggest from my images" scores every
 * normalisation on real photos and shows the table; a click on a row applies it (and only then),
 * and the next run's predictions change. The outputs row shows the real shape.
 */
let h: Harness
const MODEL = fixture('tfjs', 'small_cnn', 'model.json')
const work = tempDir('metascope-pre-honest-e2e-')
const PHOTOS = join(work, 'photos')
const CANDIDATES = ['imagenet', 'unit', 'symmetric', 'raw']

const pre = () => h.page.getByTestId('preprocess')

async function openModel(path = MODEL): Promise<void> {
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.waitForFunction((p) => document.querySelector('[data-testid="model-summary"] dd')?.getAttribute('title') === p, path, { timeout: 120_000 })
  await pre().waitFor()
}

/** A Keras-style classifier with Rescaling(1/255) at its input, saved by tfjs's own writer. */
async function rescalingModel(): Promise<string> {
  await tf.setBackend('cpu')
  const input = tf.input({ shape: [16, 16, 3], name: 'image' })
  const scaled = tf.layers.rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(input) as tf.SymbolicTensor
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }).apply(scaled) as tf.SymbolicTensor
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }).apply(pooled) as tf.SymbolicTensor
  const dir = join(work, 'rescaling')
  mkdirSync(dir, { recursive: true })
  await tf.model({ inputs: input, outputs: out }).save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData as ArrayBuffer | ArrayBuffer[])))
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }))
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    })
  )
  return join(dir, 'model.json')
}

/** Both sizes the issue asks for, with the preprocessing controls scrolled into view. */
const screens = (name: string, target = pre()) => h.screenshots(name, () => target.evaluate((e) => e.scrollIntoView({ block: 'start' })))

/** Clicks Run and returns the top prediction text of every card of that run, by image name, and what was sent. */
async function runCam(index: number): Promise<{ args: Record<string, unknown>; top: Map<string, string> }> {
  const request = h.page.waitForRequest((r) => r.url().includes('/api/cam.run'))
  await h.page.getByTestId('cam-run').click()
  const args = (await request).postDataJSON() as Record<string, unknown>
  await h.page.waitForFunction((i) => /· done\)/.test(document.querySelectorAll('[data-testid="run-tab"]')[i]?.textContent ?? ''), index, { timeout: 120_000 })
  await h.page.getByTestId('run-tab').nth(index).click()
  const top = new Map<string, string>()
  for (const card of await h.page.getByTestId('heat-card').all()) {
    const name = (await card.getAttribute('aria-label')) ?? ''
    top.set(name, ((await card.getByTestId('predictions').locator('li').first().textContent()) ?? '').replace(/\s+/g, ' ').trim())
  }
  return { args, top }
}

async function suggestTable(): Promise<{ normalization: string; score: string; cells: string[] }[]> {
  await h.page.getByTestId('pre-suggest-run').click()
  await h.page.getByTestId('pre-suggest-table').waitFor({ timeout: 120_000 })
  const rows = []
  for (const row of await h.page.getByTestId('pre-suggest-row').all()) {
    rows.push({
      normalization: (await row.getAttribute('data-normalization')) ?? '',
      score: (await row.getByTestId('pre-suggest-score').textContent()) ?? '',
      cells: (await row.locator('td').allTextContents()).map((c) => c.trim())
    })
  }
  return rows
}

beforeAll(async () => {
  mkdirSync(PHOTOS, { recursive: true })
  for (const [cls, name] of [
    ['animals', 'cat.jpg'],
    ['animals', 'chelsea.png'],
    ['objects', 'coffee.png'],
    ['objects', 'rocket.jpg'],
    ['people', 'astronaut.png']
  ])
    copyFileSync(fixture('images', cls, name), join(PHOTOS, name))
  h = await startHarness()
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await h.page.goto(h.url)
  await h.page.getByTestId('backend-ort').waitFor()
})

afterAll(async () => {
  await h?.close()
})

describe('preprocessing a model does not state', () => {
  it('says "not stated by the model" and asks, every candidate one click away and none ticked; the outputs row has the real shape', async () => {
    await openModel()
    // The converted graph's output, with the shape the probe found (it was "predictions float []").
    const outputs = await h.page.getByTestId('model-summary').locator('dd').allTextContents()
    expect(outputs).toContain('predictions float [batch, 5]')
    const norm = h.page.getByTestId('pre-normalization')
    expect(await norm.getAttribute('data-source')).toBe('default')
    const status = (await h.page.getByTestId('pre-normalization-status').textContent()) ?? ''
    expect(status).toMatch(/^Not stated by the model\. Metascope assumes ImageNet mean\/std until you choose/)
    expect(await pre().textContent()).not.toContain('Model default')
    // Every candidate is a radio on screen, and an assumption is not shown as a choice.
    for (const c of CANDIDATES) expect(await h.page.getByTestId(`pre-normalization-${c}`).isVisible()).toBe(true)
    expect(await norm.locator('input:checked').count()).toBe(0)
    expect(await norm.locator('.chip.assumed').textContent()).toContain('assumed')
    for (const f of ['pre-resize', 'pre-channel-order']) expect(await h.page.getByTestId(`${f}-status`).textContent()).toMatch(/^Not stated by the model/)
    await screens('pre-honest-01-not-stated')
  })

  it('"Suggest from my images" shows one row per candidate with numbers; a row click applies it, and the predictions change', async () => {
    await h.page.getByTestId('images-path-input').fill(PHOTOS)
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="thumb"]').length === 5)
    const before = await runCam(0)
    expect(before.args).not.toHaveProperty('normalization')
    expect(before.top.size).toBe(5)

    let runs = 0
    const countRuns = (r: { url(): string }) => void (r.url().includes('/api/cam.run') && runs++)
    h.page.on('request', countRuns)
    const rows = await suggestTable()
    expect(rows.map((r) => r.normalization)).toEqual(CANDIDATES)
    // Photos in folders that are not the model's classes: mean confidence, all five images each.
    expect(await h.page.getByTestId('pre-suggest-table').getAttribute('data-by')).toBe('confidence')
    for (const r of rows) {
      expect(r.score).toMatch(/^\d{1,3}\.\d%$/)
      expect(r.cells.at(-1)).toBe('5')
    }
    expect(new Set(rows.map((r) => r.score)).size).toBeGreaterThan(1)
    expect(await h.page.getByTestId('pre-suggest-hint').textContent()).toMatch(/only a hint/)
    // Nothing was applied: still no choice, no run.
    expect(await h.page.getByTestId('pre-normalization').locator('input:checked').count()).toBe(0)
    await screens('pre-honest-02-suggestion', h.page.getByTestId('pre-suggest'))

    // Click a row other than the assumption (the best, or raw when the best is the assumption).
    const best = (await h.page.locator('[data-testid="pre-suggest-row"].best').getAttribute('data-normalization'))!
    const pick = best === 'imagenet' ? 'raw' : best
    await h.page.locator(`[data-testid="pre-suggest-row"][data-normalization="${pick}"] td`).first().click()
    expect(await h.page.getByTestId(`pre-normalization-${pick}`).isChecked()).toBe(true)
    expect(await h.page.getByTestId('pre-normalization-status').textContent()).toMatch(/your choice/)
    expect(await h.page.locator(`[data-testid="pre-suggest-row"][data-normalization="${pick}"]`).getByTestId('pre-suggest-in-use').count()).toBe(1)
    expect(runs).toBe(0)
    h.page.off('request', countRuns)

    const after = await runCam(1)
    expect(after.args).toMatchObject({ normalization: pick })
    const changed = [...before.top].filter(([name, text]) => after.top.get(name) !== text)
    expect(changed.length).toBeGreaterThan(0)
    await screens('pre-honest-03-applied')
  })

  it("a model whose input layer states its normalisation: shown as the model's, with the layer and what it computes", async () => {
    await openModel(await rescalingModel())
    const norm = h.page.getByTestId('pre-normalization')
    expect(await norm.getAttribute('data-source')).toBe('layer')
    expect(await h.page.getByTestId('pre-normalization-status').textContent()).toBe('From the model: 0…255 (raw pixels). Its input layer rescaling (Rescaling) computes x × 0.00392 itself.')
    expect(await h.page.getByTestId('pre-normalization-raw').isChecked()).toBe(true)
    expect(await norm.locator('.chip.on').textContent()).toContain('the model’s')
    await screens('pre-honest-05-stated-by-layer')
  })

  it('says the same in Japanese', async () => {
    await h.page.evaluate(() => localStorage.setItem('metascope.language', 'ja'))
    await h.page.reload()
    await h.page.getByTestId('backend-ort').waitFor()
    await openModel()
    expect(await h.page.getByTestId('pre-normalization-status').textContent()).toMatch(/^モデルに記載がありません/)
    await h.page.getByTestId('images-path-input').fill(PHOTOS)
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="thumb"]').length === 5)
    const rows = await suggestTable()
    expect(rows).toHaveLength(4)
    const head = await h.page.getByTestId('pre-suggest-table').locator('thead').textContent()
    expect(head).toContain('平均確信度')
    expect(await pre().textContent()).not.toMatch(/model\.pre\./)
    await screens('pre-honest-04-ja', h.page.getByTestId('preprocess'))
    expect(h.consoleErrors.filter((e) => /i18n|Not found/.test(e))).toEqual([])
    await h.page.evaluate(() => localStorage.removeItem('metascope.language'))
  })
})
