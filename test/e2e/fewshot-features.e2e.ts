import { readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, tempDir } from '../helpers'
import { copyDemoClasses, DEMO_IMAGES, startWithDemo, type Harness } from './harness'

/**
 * The feature picker of the Few-shot view (issue #22 item 1): the candidates with width and the
 * layer they follow, the automatic one marked as Metascope's choice, "Suggest" ranking them by
 * leave-one-out accuracy on the board's support images, applying a row, and the run saying which
 * features it used. Real server, engine, demo images, ONNX models and Chromium.
 */
let h: Harness
const CLASSES = readdirSync(DEMO_IMAGES).sort().slice(0, 3)
const work = tempDir('metascope-fs-features-')
const DENSE_STACK = fixture('models', 'dense_stack.onnx')

type Option = { tensor: string | null; auto: string | null; acc: string | null }
const options = (): Promise<Option[]> =>
  h.page.$$eval('[data-testid="fs-feature-option"]', (els) =>
    els.map((e) => ({ tensor: e.getAttribute('data-tensor'), auto: e.getAttribute('data-auto'), acc: e.querySelector('[data-testid="fs-feature-acc"]')?.getAttribute('data-accuracy') ?? null }))
  )

async function suggest(count: number): Promise<void> {
  await h.page.getByTestId('fs-features-suggest').click()
  await h.page.getByTestId('fs-features-ranked').waitFor({ timeout: 60_000 })
  await h.page.waitForFunction((n) => document.querySelectorAll('[data-testid="fs-feature-acc"]').length === n, count)
}

beforeAll(async () => {
  copyDemoClasses(work, CLASSES, 4)
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('the feature picker', () => {
  it('on the demo model: one candidate, automatic; Suggest waits for 2 support images per class, then ranks it', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-features-summary').click()
    await h.page.getByTestId('fs-feature-option').first().waitFor()
    expect(await options()).toEqual([{ tensor: '/Flatten_output_0', auto: 'true', acc: null }])
    expect(await h.page.getByTestId('fs-feature-option').first().textContent()).toMatch(/\/Flatten_output_0 · 64 values · after GlobalAveragePool \/pool\/GlobalAveragePool\s*automatic choice/)
    expect(await h.page.getByTestId('fs-features-suggest').isDisabled()).toBe(true)
    expect(await h.page.getByTestId('fs-features-block').textContent()).toMatch(/at least 2 classes/)
    await h.page.getByTestId('fs-path-input').fill(work)
    await h.page.getByTestId('fs-path-submit').click()
    await h.page.waitForFunction((n) => document.querySelectorAll('[data-testid="fs-class"]').length === n, CLASSES.length)
    await h.page.getByTestId('fs-shots').fill('1')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-class"]')?.getAttribute('data-support') === '1')
    expect(await h.page.getByTestId('fs-features-block').textContent()).toMatch(/2 or more support images in every class/)
    await h.page.getByTestId('fs-shots').fill('2')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-class"]')?.getAttribute('data-support') === '2')
    await suggest(1)
    const [only] = await options()
    expect(Number(only.acc)).toBeGreaterThanOrEqual(0)
    expect(Number(only.acc)).toBeLessThanOrEqual(1)
    expect(await h.page.getByTestId('fs-features-ranked').textContent()).toContain(`${CLASSES.length * 2} support images of ${CLASSES.length} classes`)
    expect(await h.page.getByTestId('fs-features-best-used').count()).toBe(1)
  })

  it('on a model with a Dense stack: two candidates, the pooled one automatic; a picked one goes into the run and its results', async () => {
    await h.page.getByTestId('model-path-input').fill(DENSE_STACK)
    await h.page.getByTestId('model-path-submit').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-feature-option"]').length === 2, null, { timeout: 60_000 })
    expect(await options()).toEqual([
      { tensor: '/Flatten_output_0', auto: 'true', acc: null },
      { tensor: '/classifier/classifier.1/Relu_output_0', auto: 'false', acc: null }
    ])
    await suggest(2)
    const ranked = await options()
    for (const o of ranked) expect(Number(o.acc)).toBeGreaterThanOrEqual(0)
    await h.screenshots('fewshot-features-suggest', async () => {
      await h.page.getByTestId('fs-features').scrollIntoViewIfNeeded()
    })
    // Use the last layer's input (applying the best where it is that one, else picking it by hand).
    const relu = '/classifier/classifier.1/Relu_output_0'
    if ((await h.page.getByTestId('fs-features-apply').count()) && (await h.page.getByTestId('fs-features-apply').textContent())!.includes(relu)) {
      await h.page.getByTestId('fs-features-apply').click()
    } else {
      await h.page.locator(`[data-testid="fs-feature-option"][data-tensor="${relu}"] input`).check()
    }
    await h.page.waitForFunction((t) => document.querySelector('[data-testid="fs-features"]')?.getAttribute('data-current') === t, relu)
    expect(await h.page.getByTestId('fs-features-summary').textContent()).toMatch(/your choice/)
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]:last-child')?.getAttribute('data-status') === 'done', null, { timeout: 60_000 })
    const used = h.page.getByTestId('fs-run-features')
    await used.waitFor()
    expect(await used.getAttribute('data-tensor')).toBe(relu)
    expect(await used.getAttribute('data-auto')).toBe('false')
    expect(await used.textContent()).toMatch(/Features: \/classifier\/classifier\.1\/Relu_output_0 \(32 values, after Relu \/classifier\/classifier\.1\/Relu\)\s*\(your choice\)/)
    expect(await h.page.getByTestId('fs-trained').textContent()).toMatch(/32 features × 3 classes/)
    await h.screenshots('fewshot-features-run', async () => {
      await used.scrollIntoViewIfNeeded()
    })
    expect(h.consoleErrors).toEqual([])
  })
})
