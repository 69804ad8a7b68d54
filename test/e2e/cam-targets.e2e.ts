import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * Targets beyond one class score from the UI (issue #23 item 4): a segmentation model is recognised as
 * such, its predicted mask is shown under the map, a rectangle drawn on the overlay becomes the region
 * target and runs; an embedding-or-scores model offers a similarity to a library image. Real server,
 * engine, models (test/fixtures/targets), photo and Chromium.
 */
let h: Harness

async function openModel(path: string): Promise<void> {
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.waitForFunction((file) => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes(file), path.split('/').at(-1)!)
}

const kinds = () => h.page.getByTestId('cam-target-kind').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))

beforeAll(async () => {
  h = await startHarness()
  await h.page.goto(h.url)
  await h.page.getByTestId('images-path-input').fill(fixture('images', 'animals', 'chelsea.png'))
  await h.page.getByTestId('images-path-submit').click()
})

afterAll(async () => {
  await h?.close()
})

describe('CAM targets in the UI', () => {
  it('a segmentation model: region target drawn on the overlay, the predicted mask under the map', async () => {
    await openModel(fixture('targets', 'tiny_seg.onnx'))
    expect(await h.page.getByTestId('model-output-kind').getAttribute('data-kind')).toBe('segmentation')
    expect(await kinds()).toEqual(['class', 'region', 'contrast'])
    await h.page.getByTestId('cam-method').selectOption('saliency')
    await h.page.getByTestId('cam-target-kind').selectOption('region')
    // A region starts as the whole 32 x 32 output.
    expect(await Promise.all(['x0', 'y0', 'x1', 'y1'].map((f) => h.page.getByTestId(`cam-target-${f}`).inputValue()))).toEqual(['0', '0', '32', '32'])
    await h.page.getByTestId('cam-target-region-class').selectOption('2')
    await h.page.getByTestId('cam-run').click()
    const card = h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]').last()
    await card.waitFor({ timeout: 60_000 })
    expect(await card.textContent()).toContain('2 in x 0-32, y 0-32')
    await card.locator('button.canvas-button').click()
    await h.page.getByTestId('detail-mask').waitFor()
    // Draw the top-left quarter of the overlay: the target becomes that quarter of the output's pixels.
    const layer = h.page.getByTestId('region-draw')
    const box = (await layer.boundingBox())!
    await h.page.mouse.move(box.x + 2, box.y + 2)
    await h.page.mouse.down()
    await h.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 })
    await h.page.mouse.up()
    await expect.poll(() => h.page.getByTestId('detail-region').textContent()).toMatch(/region:2@0,0,1[67],1[67]/)
    await h.screenshots('targets-region-detail')
    await h.page.getByTestId('detail-region-run').click()
    await h.page.keyboard.press('Escape')
    await expect.poll(() => h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]').last().textContent(), { timeout: 60_000 }).toMatch(/2 in x 0-1[67], y 0-1[67]/)
    // The run panel shows the drawn rectangle in its fields.
    expect(await h.page.getByTestId('cam-target-x1').inputValue()).toMatch(/1[67]/)
  }, 180_000)

  it('an [N, D] output without labels: the similarity to a library image', async () => {
    await openModel(fixture('targets', 'tiny_embed.onnx'))
    expect(await h.page.getByTestId('model-output-kind').getAttribute('data-kind')).toBe('scores')
    expect(await kinds()).toEqual(['class', 'contrast', 'output', 'similarity'])
    await h.page.getByTestId('cam-target-kind').selectOption('similarity')
    await h.page.getByTestId('cam-target-reference').selectOption({ label: 'chelsea.png' })
    await h.page.getByTestId('cam-method').selectOption('saliency')
    await h.screenshots('targets-similarity-panel')
    await h.page.getByTestId('cam-run').click()
    // The image against itself: cosine 1 (its gradient is zero: the map says so).
    await expect.poll(() => h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]').last().textContent(), { timeout: 60_000 }).toContain('similarity to chelsea.png')
  }, 120_000)
})
