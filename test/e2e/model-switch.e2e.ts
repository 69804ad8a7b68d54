import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { demoClasses, fixture, ROOT } from '../helpers'
import { startWithDemo, type Harness } from './harness'

/**
 * State follows the model (issue #21 item 2), walked as a user in browser mode: real server, engine,
 * Chromium, the demo model and images, then a second real model (the committed tiny_cnn fixture, whose
 * classes are shapes, not clothes). After the switch no prediction of the first model may be shown as
 * the library's, the library gets the new model's predictions computed again, and every run (heatmap
 * chips, compare pickers, the detail view, few-shot run tabs) names its model.
 */
let h: Harness
const DEMO = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const TINY = fixture('models', 'tiny_cnn.onnx')
let demoLabels: string[] = []
let tinyLabels: string[] = []

/** The prediction line of every rendered thumbnail. */
const thumbPreds = () => h.page.$$eval('[data-testid="thumb"] .pred', (els) => els.map((e) => e.textContent?.trim() ?? ''))
/** The label part of "Label 12.3%" (a ≠ sign is CSS, not text). */
const predLabel = (text: string) => text.replace(/\s+[\d.]+%$/, '')

async function openModel(path: string, name: string): Promise<void> {
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.waitForFunction((n) => document.querySelector('[data-testid="model-summary"] dd')?.textContent?.trim() === n, name)
}

async function waitRunDone(index: number, items: number): Promise<string> {
  await h.page.waitForFunction(
    ([i, n]) => document.querySelectorAll('[data-testid="run-tab"]')[i as number]?.textContent?.includes(`(${n} · done)`),
    [index, items],
    { timeout: 120_000 }
  )
  return (await h.page.getByTestId('run-tab').nth(index).textContent()) ?? ''
}

/** Screenshots at 1440x900 and 1280x720, `show` scrolled into view at each size. */
const screens = (name: string, show?: string) => h.screenshots(name, async () => show && h.page.locator(show).first().scrollIntoViewIfNeeded())

beforeAll(async () => {
  demoLabels = (await LoadedModel.open(DEMO)).labels ?? []
  tinyLabels = (await LoadedModel.open(TINY)).labels ?? []
  h = await startWithDemo()
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
})

afterAll(async () => {
  await h?.close()
})

describe('state follows the model', () => {
  it('a Grad-CAM run of the demo: the chip names the model, the thumbnails show its predictions', async () => {
    await h.page.getByTestId('cam-run').click()
    expect(await waitRunDone(0, 40)).toContain('fashion_cnn.onnx')
    await h.page.locator('[data-testid="thumb"] .pred').first().waitFor()
    for (const p of await thumbPreds()) expect(demoLabels).toContain(predLabel(p))
    expect(await h.page.getByTestId('prediction-source').textContent()).toContain('fashion_cnn.onnx')
  })

  it('opening another model hides the first model’s predictions at once and computes the new model’s, with progress', async () => {
    await openModel(TINY, 'tiny_cnn.onnx')
    // The same render that shows the new model: not one thumbnail may still say "Ankle boot 99.9%".
    for (const p of await thumbPreds()) expect(tinyLabels).toContain(predLabel(p))
    // The images are predicted again by the new model, as a run of its own (its progress in the run panel).
    const second = await waitRunDone(1, 40)
    expect(second).toContain('tiny_cnn.onnx')
    expect(second).toContain('Grad-CAM')
    const preds = await thumbPreds()
    expect(preds.length).toBeGreaterThan(0)
    for (const p of preds) expect(tinyLabels).toContain(predLabel(p))
    expect(await h.page.getByTestId('prediction-source').textContent()).toContain('tiny_cnn.onnx')
    // The first model's run stays, named and marked as another model's.
    const first = h.page.getByTestId('run-tab').first()
    expect(await first.textContent()).toContain('fashion_cnn.onnx')
    expect(await first.getAttribute('class')).toContain('other-model')
    await h.page.getByTestId('heat-card').first().waitFor()
    await screens('model-switch-01-library-gallery')
  })

  it('the compare pickers and the detail view name each run’s model', async () => {
    await h.page.getByTestId('compare-open').click()
    const options = await h.page.getByTestId('compare-a').locator('option').allTextContents()
    expect(options).toHaveLength(2)
    expect(options[0]).toContain('fashion_cnn.onnx')
    expect(options[1]).toContain('tiny_cnn.onnx')
    expect(await h.page.getByTestId('compare-b').locator('option:checked').textContent()).toContain('fashion_cnn.onnx')
    await h.page.getByTestId('compare-close').click()

    await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    expect(await h.page.getByTestId('detail-run').textContent()).toContain('tiny_cnn.onnx')
    const top = (await h.page.getByTestId('detail-predictions').locator('li span').first().textContent()) ?? ''
    expect(tinyLabels).toContain(top.replace(/^\d+ · /, ''))
    await screens('model-switch-02-detail')
    await h.page.getByTestId('detail-close').click()
  })

  it('showing the old model’s run says whose it is, and the library keeps the open model’s predictions', async () => {
    await h.page.getByTestId('run-tab').first().click()
    expect(await h.page.getByTestId('gallery-other-model').textContent()).toContain('fashion_cnn.onnx')
    for (const p of await thumbPreds()) expect(tinyLabels).toContain(predLabel(p))
    await screens('model-switch-03-old-run')
  })

  it('switching back shows the first model’s run again, without running anything again', async () => {
    await openModel(DEMO, 'fashion_cnn.onnx')
    await h.page.locator('[data-testid="thumb"] .pred').first().waitFor()
    for (const p of await thumbPreds()) expect(demoLabels).toContain(predLabel(p))
    expect(await h.page.getByTestId('run-tab').count()).toBe(2)
    expect(await h.page.getByTestId('run-tab').first().getAttribute('aria-selected')).toBe('true')
    expect(await h.page.getByTestId('gallery-other-model').count()).toBe(0)
  })

  it('few-shot run tabs name their model, and a run of another model says so', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-folder-input').setInputFiles(demoClasses(['Bag', 'Trouser'], 3))
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 2)
    await h.page.getByTestId('fs-method').selectOption('protonet')
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    const tab = h.page.getByTestId('fs-run-tab').first()
    expect(await tab.textContent()).toContain('fashion_cnn.onnx')
    expect(await h.page.getByTestId('fs-other-model').count()).toBe(0)
    await openModel(TINY, 'tiny_cnn.onnx')
    expect(await tab.textContent()).toContain('fashion_cnn.onnx')
    expect(await tab.getAttribute('class')).toContain('other-model')
    expect(await h.page.getByTestId('fs-other-model').textContent()).toContain('fashion_cnn.onnx')
    await screens('model-switch-04-fewshot', '[data-testid="fs-live"]')
  })

  it('logged no page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
