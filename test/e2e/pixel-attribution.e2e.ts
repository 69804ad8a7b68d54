import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, ROOT } from '../helpers'
import { DEMO_MODEL, type Harness, startWithModel } from './harness'

/**
 * A pixel attribution from the UI (issue #23 item 1): picked from the grouped method picker, run on
 * the demo model, and shown honestly in the detail view: the overlay by magnitude (said so), the raw
 * pane signed (zero at the middle of the colour scale, said so), and Integrated Gradients'
 * completeness error beside it. Real server, engine, model, photo and Chromium.
 */
let h: Harness

beforeAll(async () => {
  h = await startWithModel(DEMO_MODEL)
})

afterAll(async () => {
  await h?.close()
})

describe('pixel attributions in the UI', () => {
  it('Integrated Gradients: grouped picker, signed raw map, magnitude overlay and the completeness error', async () => {
    const groups = await h.page.locator('[data-testid="cam-method"] optgroup').evaluateAll((gs) => gs.map((g) => (g as HTMLOptGroupElement).label))
    expect(groups).toEqual(['Class activation maps', 'Pixel attributions (gradients)', 'Perturbation'])
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
    expect((await h.page.getByTestId('detail-signed-note').textContent()) ?? '').toMatch(/white is 0, blue negative, red positive/)
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
    // The raw pane's signed map is on the diverging scale: blue pixels (negative) and red ones (positive).
    const hues = (testid: string) =>
      h.page.getByTestId(testid).evaluate((c) => {
        const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data
        let blue = 0
        let red = 0
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 2] > d[i] + 40) blue++
          if (d[i] > d[i + 2] + 40) red++
        }
        return { blue, red }
      })
    expect(await h.page.getByTestId('detail-raw').getAttribute('data-colormap')).toBe('rdbu')
    const raw = await hues('detail-raw')
    expect(raw.blue).toBeGreaterThan(0)
    expect(raw.red).toBeGreaterThan(0)
    await h.page.keyboard.press('Escape')
  }, 180_000)

  it('the sign view: the overlays show the sign on the blue-white-red scale, the magnitude view the colour map', async () => {
    // The control shows only for a run whose maps have a sign (Integrated Gradients here).
    const view = h.page.getByTestId('sign-view')
    expect(await view.inputValue()).toBe('magnitude')
    const overlay = h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"] canvas')
    expect(await overlay.getAttribute('data-colormap')).toBe('jet')
    await view.selectOption('sign')
    await expect.poll(() => overlay.getAttribute('data-colormap')).toBe('rdbu')
    await h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"] button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    expect(await h.page.getByTestId('detail-overlay').getAttribute('data-colormap')).toBe('rdbu')
    await expect.poll(() => h.page.getByTestId('detail-view').textContent()).toContain('Integrated Gradients (sign)')
    expect((await h.page.getByTestId('detail-signed-note').textContent()) ?? '').toMatch(/Both panes show the attribution’s sign/)
    for (const size of [{ width: 1440, height: 900 }, { width: 1280, height: 720 }]) {
      await h.page.setViewportSize(size)
      await h.screenshot(`pixel-ig-sign-${size.width}x${size.height}`)
    }
    await h.page.keyboard.press('Escape')
    await view.selectOption('magnitude')
    await expect.poll(() => overlay.getAttribute('data-colormap')).toBe('jet')
  }, 60_000)

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

  it('a workspace keeps the parameters and the sign view: saved, reloaded and reopened, the panel holds them', async () => {
    const wsDir = join(mkdtempSync(join(tmpdir(), 'ms-pixel-ws-')), 'workspace')
    await h.page.getByTestId('sign-view').selectOption('sign')
    await h.page.getByTestId('workspace-dir').fill(wsDir)
    await h.page.getByTestId('workspace-save').click()
    await h.page.waitForFunction(() => /workspace\.json/.test(document.querySelector('[data-testid="workspace-message"]')?.textContent ?? ''))
    const saved = JSON.parse(readFileSync(join(wsDir, 'workspace.json'), 'utf8'))
    expect(saved.settings.attribution).toMatchObject({ steps: 8, integration: 'trapezoid', baseline: 'image' })
    expect(saved.settings.signView).toBe('sign')
    await h.page.reload()
    // A fresh page holds cam.run's defaults.
    await h.page.getByTestId('model-path-input').fill(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'))
    await h.page.getByTestId('model-path-submit').click()
    await h.page.getByTestId('model-summary').waitFor()
    await h.page.getByTestId('cam-method').selectOption('integratedgradients')
    expect(await h.page.getByTestId('param-steps').inputValue()).toBe('32')
    await h.page.getByTestId('workspace-dir').fill(wsDir)
    await h.page.getByTestId('workspace-open').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="workspace-message"]')?.textContent?.includes('workspace'))
    expect(await h.page.getByTestId('param-steps').inputValue()).toBe('8')
    expect(await h.page.getByTestId('param-integration').inputValue()).toBe('trapezoid')
    expect(await h.page.getByTestId('param-baseline').inputValue()).toBe('image')
    expect(await h.page.getByTestId('sign-view').inputValue()).toBe('sign')
  }, 120_000)

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
