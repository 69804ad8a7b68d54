import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from '../helpers'
import { DEMO_MODEL, type Harness, startWithModel } from './harness'

/**
 * Several CAM layers from the UI (issue #23 item 3): Ctrl-click adds a second layer in the layer
 * picker, and an Ablation-CAM run at both layers gives one averaged map whose result names both
 * layers. Real server, engine, demo model, photo and Chromium.
 */
let h: Harness

beforeAll(async () => {
  h = await startWithModel(DEMO_MODEL)
})

afterAll(async () => {
  await h?.close()
})

describe('CAMs at several layers in the UI', () => {
  it('Ctrl-click chooses two layers; the Ablation-CAM result is their average and names both', async () => {
    const option = (name: string) => h.page.locator(`[data-testid="layer-list"] li[role="option"][title="${name}"]`)
    const auto = h.page.locator('[data-testid="layer-list"] li[role="option"]').first()
    const last = '/features/features.7/Relu_output_0'
    const earlier = '/features/features.4/Relu_output_0'
    await option(last).click()
    expect(await h.page.getByTestId('layer-hint').textContent()).toMatch(/Ctrl-click/)
    await option(earlier).click({ modifiers: ['Control'] })
    expect(await h.page.getByTestId('layer-hint').textContent()).toMatch(/^2 layers: their CAMs are averaged/)
    expect(await option(last).getAttribute('aria-selected')).toBe('true')
    expect(await option(earlier).getAttribute('aria-selected')).toBe('true')
    expect(await auto.getAttribute('aria-selected')).toBe('false')
    // Ctrl-click on a chosen layer takes it out again; a plain click chooses one layer only.
    await option(earlier).click({ modifiers: ['Control'] })
    expect(await option(earlier).getAttribute('aria-selected')).toBe('false')
    await option(earlier).click({ modifiers: ['Control'] })

    await h.page.getByTestId('cam-method').selectOption('ablationcam')
    await h.page.getByTestId('images-path-input').fill(join(fixture('images', 'animals'), 'chelsea.png'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('1'))
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('cam-layers-picker-1280x720')
    await h.page.getByTestId('cam-run').click()
    const card = h.page.locator('[data-testid="heat-card"][aria-label="chelsea.png"]')
    await card.waitFor({ timeout: 120_000 })
    await card.locator('button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    await expect.poll(() => h.page.getByTestId('detail-view').textContent()).toContain(`${last},${earlier}`)
    expect((await h.page.getByTestId('detail-score-tensor').textContent()) ?? '').toMatch(/Ablation-CAM reads no gradient/)
    await h.screenshot('cam-layers-detail-1280x720')
    await h.page.keyboard.press('Escape')
  }, 180_000)
})
