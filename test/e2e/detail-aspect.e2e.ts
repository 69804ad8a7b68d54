import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from '../helpers'
import { DEMO_MODEL, type Harness, startWithModel } from './harness'

/**
 * The detail view keeps the original's shape (issue #21 item 8): a 96 x 64 photo under a 28 x 28 model
 * that stretches its input shows original, overlay and raw map all at 3:2, not the original letterboxed
 * beside square maps. Real server, engine, model, photo and Chromium.
 */
let h: Harness

beforeAll(async () => {
  h = await startWithModel(DEMO_MODEL)
})

afterAll(async () => {
  await h?.close()
})

const box = async (testid: string) => {
  const b = await h.page.getByTestId(testid).boundingBox()
  return b ? b.width / b.height : NaN
}

describe('the detail view', () => {
  it('shows the original, the overlay and the raw map in the original aspect ratio', async () => {
    await h.page.getByTestId('images-path-input').fill(join(fixture('images', 'animals'), 'chelsea.png'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('1'))
    await h.page.getByTestId('cam-run').click()
    const card = h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]')
    await card.waitFor({ timeout: 120_000 })
    await card.locator('button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    await h.page.waitForFunction(() => (document.querySelector('[data-testid="detail-original"]') as HTMLImageElement | null)?.naturalWidth === 96)
    for (const pane of ['detail-original', 'detail-overlay', 'detail-raw']) expect(await box(pane)).toBeCloseTo(96 / 64, 1)
    // And the picture fills each pane: no black letterbox bars at the sides of the overlay.
    const shot = await sharp(await h.page.getByTestId('detail-overlay').screenshot()).raw().toBuffer({ resolveWithObject: true })
    const { width, height, channels } = shot.info
    const at = (x: number, y: number) => shot.data.subarray((y * width + x) * channels, (y * width + x) * channels + 3).reduce((a, b) => a + b, 0)
    for (const x of [1, width - 2]) expect(at(x, Math.floor(height / 2))).toBeGreaterThan(30)
    for (const size of [{ width: 1440, height: 900 }, { width: 1280, height: 720 }]) {
      await h.page.setViewportSize(size)
      await h.screenshot(`detail-aspect-${size.width}x${size.height}`)
    }
    await h.page.keyboard.press('Escape')
  }, 180_000)

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
