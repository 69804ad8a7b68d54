import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, ROOT } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * A pixel attribution from the UI (issue #23 item 1): picked from the grouped method picker, run on
 * the demo model, and shown honestly in the detail view: the overlay by magnitude (said so), the raw
 * pane signed (zero at the middle of the colour scale, said so), and Integrated Gradients'
 * completeness error beside it. Real server, engine, model, photo and Chromium.
 */
let h: Harness

beforeAll(async () => {
  h = await startHarness()
  await h.page.goto(h.url)
  await h.page.getByTestId('model-path-input').fill(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'))
  await h.page.getByTestId('model-path-submit').click()
  await h.page.getByTestId('model-summary').waitFor()
})

afterAll(async () => {
  await h?.close()
})

describe('pixel attributions in the UI', () => {
  it('Integrated Gradients: grouped picker, signed raw map, magnitude overlay and the completeness error', async () => {
    const groups = await h.page.locator('[data-testid="cam-method"] optgroup').evaluateAll((gs) => gs.map((g) => (g as HTMLOptGroupElement).label))
    expect(groups).toEqual(['Class activation maps', 'Pixel attributions (gradients)'])
    // A CAM reads no parameters: no controls. Integrated Gradients shows the ones the registry lists, at cam.run's defaults.
    expect(await h.page.getByTestId('method-params').count()).toBe(0)
    await h.page.getByTestId('cam-method').selectOption('integratedgradients')
    await h.page.getByTestId('images-path-input').fill(join(fixture('images', 'animals'), 'chelsea.png'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('1'))
    const params = h.page.getByTestId('method-params')
    expect(await params.locator('label').allTextContents()).toEqual(['Steps', 'Integration', 'Baseline', 'Seed'])
    expect(await h.page.getByTestId('param-steps').inputValue()).toBe('32')
    expect(await h.page.getByTestId('param-steps').getAttribute('max')).toBe('1024')
    // baseline "image" offers the library's images by name; the run below uses a blurred baseline instead.
    await h.page.getByTestId('param-baseline').selectOption('image')
    expect(await h.page.getByTestId('param-baselineImage').locator('option:not([disabled])').allTextContents()).toEqual(['chelsea.png'])
    await h.page.getByTestId('param-steps').fill('8')
    await h.page.getByTestId('param-integration').selectOption('trapezoid')
    await h.page.getByTestId('param-baseline').selectOption('blurred')
    expect(await h.page.getByTestId('param-baselineImage').count()).toBe(0)
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('pixel-ig-params-1280x720')
    await h.page.getByTestId('cam-run').click()
    const card = h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]')
    await card.waitFor({ timeout: 120_000 })
    await card.locator('button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    await expect.poll(() => h.page.getByTestId('detail-view').textContent()).toContain('Integrated Gradients (magnitude)')
    expect((await h.page.getByTestId('detail-raw-caption').textContent()) ?? '').toMatch(/Signed map \(28×28\)/)
    expect((await h.page.getByTestId('detail-signed-note').textContent()) ?? '').toMatch(/middle of the colour scale is 0/)
    // Pixel maps are drawn as blocks (no interpolation): the 28 x 28 map on a 320 x 320 canvas has runs of
    // equal pixels inside each block.
    const same = await h.page.getByTestId('detail-raw').evaluate((c) => {
      const ctx = (c as HTMLCanvasElement).getContext('2d')!
      const row = ctx.getImageData(0, Math.floor((c as HTMLCanvasElement).height / 2), (c as HTMLCanvasElement).width, 1).data
      let equal = 0
      for (let x = 1; x < row.length / 4; x++) if (row[x * 4] === row[(x - 1) * 4] && row[x * 4 + 1] === row[(x - 1) * 4 + 1] && row[x * 4 + 2] === row[(x - 1) * 4 + 2]) equal++
      return equal / (row.length / 4 - 1)
    })
    expect(same).toBeGreaterThan(0.85)
    expect((await h.page.getByTestId('detail-completeness').textContent()) ?? '').toMatch(/Completeness error: -?\d/)
    expect((await h.page.getByTestId('detail-score-tensor').textContent()) ?? '').toMatch(/with respect to the input pixels/)
    // The run used the panel's values, not cam.run's defaults (32 steps, Gauss-Legendre, black).
    expect(JSON.parse((await h.page.getByTestId('detail-params').getAttribute('data-params')) ?? '{}')).toEqual({ steps: 8, integration: 'trapezoid', baseline: 'blurred', seed: 0 })
    expect(await h.page.getByTestId('detail-params').textContent()).toBe('Parameters: Steps 8 · Integration Trapezoid · Baseline Blurred image · Seed 0')
    for (const size of [{ width: 1440, height: 900 }, { width: 1280, height: 720 }]) {
      await h.page.setViewportSize(size)
      await h.screenshot(`pixel-ig-detail-${size.width}x${size.height}`)
    }
    await h.page.keyboard.press('Escape')
  }, 180_000)

  it('Integrated Gradients from a library image as the baseline: the image is the path\'s start', async () => {
    await h.page.getByTestId('param-baseline').selectOption('image')
    await h.page.getByTestId('param-baselineImage').selectOption({ label: 'chelsea.png' })
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-tab"]')[1]?.textContent?.includes('done'), undefined, { timeout: 120_000 })
    await h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"] button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    const recorded = JSON.parse((await h.page.getByTestId('detail-params').getAttribute('data-params')) ?? '{}')
    expect(recorded).toMatchObject({ steps: 8, integration: 'trapezoid', baseline: 'image', seed: 0 })
    expect(recorded.baselineImage).toMatch(/chelsea\.png$/)
    expect(await h.page.getByTestId('detail-params').textContent()).toContain('Baseline image chelsea.png')
    // The path from the image to itself has length 0: F(x) - F(x') is 0 (the completeness line says so).
    const delta = /score change (\S+) from baseline/.exec((await h.page.getByTestId('detail-completeness').textContent()) ?? '')?.[1]
    expect(Math.abs(Number(delta))).toBeLessThan(1e-4)
    await h.page.keyboard.press('Escape')
  }, 180_000)

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
