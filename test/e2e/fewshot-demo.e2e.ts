import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { ADAPT_DEFAULTS } from '../../src/shared/fewshot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * The few-shot demo as a newcomer meets it (and the README's few-shot picture): on an empty board,
 * "Try the few-shot demo" opens the CNN trained on Fashion-MNIST classes 0-4 only and puts the 5
 * classes it never saw on the board (resources/demo/fewshot, made by scripts/demo/make_demo.py).
 * Before adaptation no class is one of the model's; after, the engine's measured accuracy.
 */
let h: Harness
const NEW_CLASSES = ['Ankle_boot', 'Bag', 'Sandal', 'Sneaker', 'Shirt'].sort((a, b) => a.localeCompare(b))
const text = async (testid: string) => (await h.page.getByTestId(testid).first().textContent())?.trim() ?? ''

beforeAll(async () => {
  h = await startHarness()
  await h.page.goto(h.url)
})

afterAll(async () => {
  await h?.close()
})

describe('the few-shot demo', () => {
  it('the empty board offers the demo; it opens the 5-class model and fills the board with 5 new classes', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-try-demo').waitFor()
    await h.screenshot('fewshot-demo-01-offer')
    await h.page.getByTestId('fs-try-demo').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes('fashion_cnn_0to4.onnx'))
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 5)
    const classes = await h.page.$$eval('[data-testid="fs-class"]', (els) =>
      els.map((e) => ({ name: e.getAttribute('data-name'), support: Number(e.getAttribute('data-support')), query: Number(e.getAttribute('data-query')) }))
    )
    expect(classes).toEqual(NEW_CLASSES.map((name) => ({ name, support: 5, query: 5 })))
    expect(await h.page.getByTestId('fs-shots').inputValue()).toBe('5')
    // The offer is for an empty board only.
    expect(await h.page.getByTestId('fs-try-demo').count()).toBe(0)
    expect(await text('model-summary')).toMatch(/Labels\s*5 classes/)
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="fs-image"] img')].every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0))
    await h.screenshot('fewshot-demo-02-board')
  })

  it('Proto-MAML: before, no class is one of the model\'s; after, the measured accuracy, above chance', async () => {
    expect(await h.page.getByTestId('fs-method').inputValue()).toBe('protomaml')
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    await h.page.getByTestId('fs-results').waitFor()

    // Before: the original model has none of these labels, so it is not scored on them.
    expect(await h.page.getByTestId('fs-accuracy').getAttribute('data-before')).toBe('')
    expect(await text('fs-acc-before')).toBe('not classes of the model')
    const rows = await h.page.$$eval('[data-testid="fs-class-acc-row"]', (trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-name'),
        before: tr.querySelector('[data-testid="fs-class-before"]')?.textContent?.trim(),
        after: Number(tr.querySelector('[data-testid="fs-class-after"]')?.getAttribute('data-value'))
      }))
    )
    expect(rows.map((r) => r.name)).toEqual(NEW_CLASSES)
    for (const r of rows) expect(r.before).toBe('not a class of the model')

    // After: the engine's accuracy, which the query cards and the per-class rows must agree with.
    const after = Number(await h.page.getByTestId('fs-accuracy').getAttribute('data-after'))
    const cards = await h.page.$$eval('[data-testid="fs-card"]', (els) => els.map((e) => e.getAttribute('data-correct') === 'true'))
    expect(cards).toHaveLength(25)
    expect(after).toBeCloseTo(cards.filter(Boolean).length / 25, 10)
    expect(rows.reduce((s, r) => s + r.after, 0) / rows.length).toBeCloseTo(after, 10)
    expect(after).toBeGreaterThan(0.2)
    expect(await text('fs-acc-after')).toBe(`${(after * 100).toFixed(1)}%`)
    // One support loss per inner step, as many as the API's default.
    expect(Number(await h.page.getByTestId('fs-loss-chart').getAttribute('data-points'))).toBe(ADAPT_DEFAULTS.steps)
    console.log(`few-shot demo, Proto-MAML 5-way 5-shot on classes the model never saw: query accuracy ${(after * 100).toFixed(1)}% (${cards.filter(Boolean).length}/25; chance 20%)`)

    // The README's picture: the image library folded away (it is empty here), the run and its results in view.
    await h.page.getByTestId('library-toggle').click()
    const showResults = () => h.page.evaluate(() => document.querySelector('[data-testid="fs-runs"], .fs-runs')?.scrollIntoView({ block: 'start' }))
    await h.screenshots('fewshot-demo', showResults)
    await h.page.setViewportSize({ width: 1440, height: 900 })
    await showResults()
    await h.page.waitForTimeout(200)
    copyFileSync(await h.screenshot('fewshot-demo-readme'), join(ROOT, 'docs', 'screenshot-fewshot.png'))
  })

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
