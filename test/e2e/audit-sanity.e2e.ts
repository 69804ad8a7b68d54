import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditFile } from '../../src/shared/audit'
import { AUDIT_METRIC_IDS } from '../../src/shared/registry/audit-metrics'
import { tempDir } from '../helpers'
import { copyDemoClasses, startWithDemo, type Harness } from './harness'

/**
 * The audit's sanity check on a gradient pixel attribution (issue #23 item 6), in the Audit view: real
 * server, engine and Chromium, the trained demo model on four of its images (one per class). Guided
 * Backprop's maps hardly change when only the class layer is re-drawn, so the methods table flags it
 * and says by which verdict; Grad-CAM's change, so the class-layer verdict does not flag it.
 */
let h: Harness
const work = tempDir('metascope-audit-sanity-e2e-')

beforeAll(async () => {
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('the Audit view: sanity check on pixel attributions', () => {
  it('ticks Guided Backprop and Grad-CAM, runs the sanity check, and sees Guided Backprop flagged by the class layer', async () => {
    const images = join(work, 'images')
    copyDemoClasses(images, ['Bag', 'Coat', 'Sandal', 'Trouser'], 1)
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-view').waitFor()
    await h.page.getByTestId('audit-dir').fill(images)
    await h.page.getByTestId('audit-method-guidedbackprop').setChecked(true)
    await h.page.getByTestId('audit-method-gradcam').setChecked(true)
    // The sanity check alone keeps the run short; deletion gives the ranking a number to show beside it.
    for (const m of AUDIT_METRIC_IDS) await h.page.getByTestId(`audit-metric-${m}`).setChecked(m === 'sanity' || m === 'deletion')
    // The method checkboxes: the CAMs, then the gradient pixel attributions.
    await h.screenshots('audit-sanity-00-form', () => h.page.getByTestId('audit-methods').scrollIntoViewIfNeeded())
    await h.page.getByTestId('audit-advanced').click()
    await h.page.getByTestId('audit-out').fill(join(work, 'out'))
    await h.page.getByTestId('audit-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="audit-live"]')?.getAttribute('data-status') === 'done', null, { timeout: 180_000 })
    await h.page.getByTestId('audit-results').waitFor()

    const cell = (method: string, col: string) => h.page.locator(`[data-testid="method-row"][data-method="${method}"] [data-col="${col}"]`)
    expect(await h.page.getByTestId('method-row').count()).toBe(2)
    expect(await cell('guidedbackprop', 'sanityFlagged').textContent()).toMatch(/^flagged \(class layer/)
    expect(await cell('guidedbackprop', 'sanityFlagged').getAttribute('data-why')).toMatch(/class-layer/)
    expect(await cell('guidedbackprop', 'sanityFlagged').getAttribute('class')).toContain('bad')
    expect(await cell('gradcam', 'sanityFlagged').getAttribute('data-why') ?? '').not.toMatch(/class-layer/)
    // The first step's similarity is in the table, as the engine wrote it.
    const file = JSON.parse(readFileSync(join(work, 'out', 'audit.json'), 'utf8')) as AuditFile
    const gbp = file.summary.sanity!.methods.guidedbackprop
    expect(gbp.classLayerSpearman!).toBeGreaterThanOrEqual(0.8)
    expect(Number(await cell('guidedbackprop', 'sanityClassLayer').textContent())).toBeCloseTo(gbp.classLayerSpearman!, 2)
    expect(Number(await cell('gradcam', 'sanityClassLayer').textContent())).toBeLessThan(0.8)
    // Its header says what the number is and when it flags.
    expect(await h.page.locator('th[title*="class (top) layer re-drawn"]').count()).toBe(1)

    await h.page.getByTestId('method-table').scrollIntoViewIfNeeded()
    await h.screenshots('audit-sanity-01-methods', () => h.page.getByTestId('method-table').scrollIntoViewIfNeeded())
  })

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
