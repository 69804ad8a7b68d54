import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers'
import { startWithDemo, type Harness } from './harness'

/**
 * The Audit view on a model that does not name its classes (issue #21 item 10): the user maps each
 * class folder to a class in place (no labels file, no CLI), the results name classes by their
 * folders, and the audit of one model does not stay on screen as if it were another's. Real server,
 * engine, models and Chromium.
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')
const unlabelledModel = join(ROOT, 'test', 'fixtures', 'models', 'mini_resnet.onnx')
const work = tempDir('metascope-audit-classes-')
// Folders named by the user's own words, which no model label matches.
const folders = { pouch: 'Bag', jacket: 'Coat' }

beforeAll(async () => {
  for (const [name, from] of Object.entries(folders)) {
    mkdirSync(join(work, name))
    for (const f of readdirSync(join(demoImages, from)).sort().slice(0, 3)) copyFileSync(join(demoImages, from, f), join(work, name, f))
  }
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

async function openModel(path: string, name: string): Promise<void> {
  await h.page.getByTestId('view-heatmaps').click()
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.waitForFunction((n) => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes(n), name)
}

describe('auditing a model without class names', () => {
  it('asks which class each folder is, in place, and audits with that map', async () => {
    await openModel(unlabelledModel, 'mini_resnet')
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-dir').fill(work)
    for (const m of ['road', 'confidence', 'sanity', 'where', 'insertion']) await h.page.getByTestId(`audit-metric-${m}`).setChecked(false)
    await h.page.getByTestId('audit-run').click()
    const map = h.page.getByTestId('folder-class-map')
    await map.waitFor()
    // Every folder is listed, none chosen for the user (the names match no class), and the run waits for all.
    expect(await map.locator('select').evaluateAll((ss) => ss.map((s) => s.id))).toEqual(['map-jacket', 'map-pouch'])
    expect(await h.page.getByTestId('folder-class-run').isDisabled()).toBe(true)
    await h.page.getByTestId('folder-class-pouch').selectOption('8')
    expect(await h.page.getByTestId('folder-class-run').isDisabled()).toBe(true)
    await h.page.getByTestId('folder-class-jacket').selectOption('4')
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('audit-folder-map-1280x720')
    await h.page.setViewportSize({ width: 1440, height: 900 })
    await h.screenshot('audit-folder-map-1440x900')
    await h.page.getByTestId('folder-class-run').click()
    await h.page.getByTestId('audit-results').waitFor({ timeout: 120_000 })
    expect(await h.page.getByTestId('folder-class-map').count()).toBe(0)
    expect(await h.page.getByTestId('audit-folder-classes').textContent()).toMatch(/jacket → 4.*pouch → 8|pouch → 8.*jacket → 4/)
    // Classes are named by their folders, in the class table and in a confusion cell's drill-down.
    const rows = await h.page.getByTestId('class-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-class')))
    expect(rows).toContain('pouch')
    expect(rows).toContain('jacket')
    const cell = h.page.locator('[data-testid="confusion-cell"]:not([data-count="0"])').first()
    await cell.click()
    const title = (await h.page.getByTestId('audit-drill').getAttribute('aria-label')) ?? ''
    expect(title).toMatch(/pouch|jacket/)
    expect(title).not.toMatch(/^\D*\d+\D+\d+\D*$/)
    await h.page.waitForFunction(() => document.querySelector('[data-testid="drill-cell"]')?.getAttribute('data-status') === 'done')
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="drill-cell-image"]')].every((li) => li.getAttribute('data-ready') === 'true'))
    await h.screenshot('audit-folder-map-drill')
    await h.page.getByTestId('audit-drill-close').click()
  }, 240_000)

  it("another model's audit is not shown as the open model's", async () => {
    await openModel(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'), 'fashion_cnn')
    await h.page.getByTestId('view-audit').click()
    expect(await h.page.getByTestId('audit-results').count()).toBe(0)
    expect(await h.page.getByTestId('audit-other-model').textContent()).toContain('mini_resnet.onnx')
    // The map was for that model and folder: it is gone.
    expect(await h.page.getByTestId('audit-folder-classes').count()).toBe(0)
  })

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
