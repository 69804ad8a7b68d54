import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWithDemo, type Harness } from './harness'

/**
 * Deeper adaptation in the Few-shot view (browser mode, real engine, real Chromium), on the few-shot
 * demo (classes the model never saw): a depth beyond the model's blocks is refused with the count,
 * then the last two blocks fine-tune and the loss chart shows the early-stopping run, the held-out
 * loss and the final run.
 */
let h: Harness

beforeAll(async () => {
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('deeper adaptation in the app', () => {
  it('refuses too many blocks, then fine-tunes the last two with a live loss chart', async () => {
    await h.page.getByTestId('view-fewshot').click()
    // The few-shot demo: a model trained on Fashion-MNIST classes 0-4, taught classes 5-9 it never saw.
    await h.page.getByTestId('fs-try-demo').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes('fashion_cnn_0to4.onnx'))
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 5)
    expect(await h.page.getByTestId('fs-augment').isDisabled()).toBe(true)

    await h.page.getByTestId('fs-depth').fill('9')
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'failed', null, { timeout: 120_000 })
    expect(await h.page.getByTestId('fs-live').textContent()).toMatch(/has 3 blocks .*features\.\d+, .*not 9/)
    // The same refusal in the user's language: the UI phrases it from the field and the rule, not the engine's English.
    await h.page.getByTestId('language').selectOption('ja')
    expect(await h.page.getByTestId('fs-live').textContent()).toMatch(/微調整できるブロックは 3 個です（features\.\d+, .*）。9 ではなく/)
    await h.page.getByTestId('language').selectOption('en')

    await h.page.getByTestId('fs-depth').fill('2')
    expect(await h.page.getByTestId('fs-augment').isChecked()).toBe(true)
    // What will be trained says so: not "only the last layer" once blocks are fine-tuned.
    expect(await h.page.getByTestId('fs-what').textContent()).toMatch(/The last 2 block\(s\) of the model and a new head are trained/)
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-run-tab"]')[1]?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    await h.page.getByTestId('fs-results').waitFor()
    // 50 validation steps (support loss and held-out loss, 51 points with the start) and the final run's steps.
    expect(Number(await h.page.getByTestId('fs-loss-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(100)
    expect(await h.page.getByTestId('fs-loss-chart').textContent()).toContain('held-out loss')
    expect(await h.page.getByTestId('fs-live').textContent()).toContain('one support image per class is held out')
    // The results say what trained: the blocks and the head (or that early stopping kept the head-only start).
    expect(await h.page.getByTestId('fs-trained').textContent()).toMatch(/the blocks features\.\d+, features\.\d+ and the new head|0 steps were taken/)
    await h.page.getByTestId('fs-loss-chart').scrollIntoViewIfNeeded()
    await h.screenshots('fewshot-deep-01-chart')
  })
})
