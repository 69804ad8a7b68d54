import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from '../helpers'
import { DEMO_MODEL, type Harness, startWithModel } from './harness'

/**
 * Occlusion from the UI (issue #23 item 2): picked from the picker's Perturbation group, its window and
 * stride set in the run panel, run on the demo model with its progress in windows, and shown in the
 * detail view with the parameters it used. Real server, engine, model, photo and Chromium.
 */
let h: Harness

beforeAll(async () => {
  h = await startWithModel(DEMO_MODEL)
})

afterAll(async () => {
  await h?.close()
})

describe('perturbation attributions in the UI', () => {
  it('Occlusion: the Perturbation group, its parameters, progress in windows and the result', async () => {
    const groups = await h.page.locator('[data-testid="cam-method"] optgroup').evaluateAll((gs) => gs.map((g) => [(g as HTMLOptGroupElement).label, Array.from((g as HTMLOptGroupElement).querySelectorAll('option'), (o) => o.value)]))
    expect(groups.at(-1)).toEqual(['Perturbation', ['occlusion', 'rise']])
    await h.page.getByTestId('cam-method').selectOption('occlusion')
    await h.page.getByTestId('images-path-input').fill(join(fixture('images', 'animals'), 'chelsea.png'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('1'))
    const params = h.page.getByTestId('method-params')
    expect(await params.locator('label').allTextContents()).toEqual(['Window (px)', 'Stride (px)', 'Baseline', 'Seed'])
    expect(await h.page.getByTestId('param-window').inputValue()).toBe('16')
    expect(await h.page.getByTestId('param-stride').inputValue()).toBe('8')
    // 28 x 28 demo input, window 4, stride 1: 25 x 25 = 625 occluded copies, 20 model runs of 32.
    await h.page.getByTestId('param-window').fill('4')
    await h.page.getByTestId('param-stride').fill('1')
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('perturbation-occlusion-params-1280x720')
    // Every text the live progress line shows, recorded as it changes (the run is quick: no waiting on one).
    await h.page.evaluate(() => {
      const seen: string[] = ((window as unknown as { progressSeen: string[] }).progressSeen = [])
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid="run-live-text"]')?.textContent
        if (t && seen.at(-1) !== t) seen.push(t)
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    await h.page.getByTestId('cam-run').click()
    const card = h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]')
    await card.waitFor({ timeout: 120_000 })
    const seen = await h.page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen)
    const windows = seen.filter((t) => /windows \d+ \/ 625/.test(t))
    expect(windows.length, seen.join('\n')).toBeGreaterThan(0)
    await card.locator('button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    await expect.poll(() => h.page.getByTestId('detail-view').textContent()).toContain('Occlusion (magnitude)')
    expect((await h.page.getByTestId('detail-raw-caption').textContent()) ?? '').toMatch(/Signed map \(28×28\)/)
    expect((await h.page.getByTestId('detail-score-tensor').textContent()) ?? '').toMatch(/Occlusion reads no gradient/)
    expect(JSON.parse((await h.page.getByTestId('detail-params').getAttribute('data-params')) ?? '{}')).toEqual({ window: 4, stride: 1, baseline: 'black', seed: 0 })
    for (const size of [{ width: 1440, height: 900 }, { width: 1280, height: 720 }]) {
      await h.page.setViewportSize(size)
      await h.screenshot(`perturbation-occlusion-detail-${size.width}x${size.height}`)
    }
    await h.page.keyboard.press('Escape')
  }, 180_000)

  it("RISE with the cell size left empty: the engine fits it to the demo's 28-pixel input", async () => {
    await h.page.getByTestId('cam-method').selectOption('rise')
    expect(await h.page.getByTestId('method-params').locator('label').allTextContents()).toEqual(['Masks', 'Cell size (px)', 'Keep probability', 'Baseline', 'Seed'])
    expect(await h.page.getByTestId('param-cellSize').inputValue()).toBe('')
    expect(await h.page.getByTestId('param-cellSize').getAttribute('placeholder')).toBe('auto: side ÷ 7')
    await h.page.getByTestId('param-masks').fill('200')
    // A typed cell size emptied again is "auto" once more, not an empty value cam.run would refuse.
    await h.page.getByTestId('param-cellSize').fill('8')
    await h.page.getByTestId('param-cellSize').fill('')
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-tab"]')[1]?.textContent?.includes('done'), undefined, { timeout: 120_000 })
    await h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"] button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    expect(JSON.parse((await h.page.getByTestId('detail-params').getAttribute('data-params')) ?? '{}')).toEqual({ masks: 200, keep: 0.5, baseline: 'black', seed: 0 })
    await h.screenshot('perturbation-rise-detail-1280x720')
    await h.page.keyboard.press('Escape')
    await h.page.getByTestId('cam-method').selectOption('occlusion')
  }, 180_000)

  it('a stride past the window is refused in words, naming the field', async () => {
    await h.page.getByTestId('param-window').fill('4')
    await h.page.getByTestId('param-stride').fill('6')
    await h.page.getByTestId('cam-run').click()
    await expect.poll(async () => (await h.page.locator('body').textContent()) ?? '', { timeout: 30_000 }).toMatch(/stride \(6 pixels\) is larger than its window \(4 pixels\)/)
    await h.screenshot('perturbation-occlusion-error-1280x720')
  }, 60_000)

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
