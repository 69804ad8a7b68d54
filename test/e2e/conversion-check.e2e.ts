import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, ROOT } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * The conversion check in the model panel (issue #20): opening a TensorFlow.js model checks the
 * converted graph against TensorFlow.js itself on probe inputs, and reports the largest difference;
 * "Check on my images" repeats it on the library's images. Real server, engine, tfjs and Chromium.
 */
let h: Harness

beforeAll(async () => {
  h = await startHarness()
  await h.page.goto(h.url)
})

afterAll(async () => {
  await h?.close()
})

const status = () => h.page.getByTestId('conversion-check').getAttribute('data-status')

describe('the conversion check', () => {
  it('runs on opening a TensorFlow.js model and on the user\'s images', async () => {
    await h.page.getByTestId('model-path-input').fill(fixture('tfjs', 'small_cnn', 'model.json'))
    await h.page.getByTestId('model-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="conversion-check"]')?.getAttribute('data-status') === 'done', null, { timeout: 60_000 })
    expect(await h.page.getByTestId('conversion-check-result').textContent()).toMatch(/agrees with TensorFlow\.js within [\d.e+-]+ on 8 probe inputs \(@tensorflow\/tfjs/)
    await h.page.getByTestId('images-path-input').fill(join(ROOT, 'test', 'fixtures', 'images', 'animals'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => /\(\d+\)/.test(document.querySelector('[data-testid="conversion-check-images"]')?.textContent ?? '') && !/\(0\)/.test(document.querySelector('[data-testid="conversion-check-images"]')?.textContent ?? ''))
    await h.page.getByTestId('conversion-check-images').click()
    await h.page.waitForFunction(() => /of your images/.test(document.querySelector('[data-testid="conversion-check-result"]')?.textContent ?? ''), null, { timeout: 60_000 })
    expect(await status()).toBe('done')
    await h.screenshot('conversion-check')
  })

  it('an ONNX model shows no check', async () => {
    await h.page.getByTestId('open-demo').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="model-format"]')?.textContent === 'ONNX')
    expect(await h.page.getByTestId('conversion-check').count()).toBe(0)
  })
})
