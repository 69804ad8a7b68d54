import { readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers'
import { startWithDemo, type Harness } from './harness'

/**
 * The library filter and the folder labels (issue #21 item 7), walked as a user in browser mode: real
 * server, engine, Chromium, the demo model and its images in class sub-folders. "Prediction ≠ folder
 * label" filters the heatmap gallery as it filters the library, with a note and a way to clear it, and
 * the folder label shows on thumbnails, cards, the detail view and in the exported results.csv.
 */
let h: Harness
const work = tempDir('metascope-filter-e2e-')
const folderOf = (path: string) => basename(dirname(path))

/** Splits one line of results.csv: every text cell is quoted (an empty one too), numbers are bare. */
const cells = (line: string) => (line.match(/"(?:[^"]|"")*"|[^,]+/g) ?? []).map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c))

const screens = (name: string) => h.screenshots(name)

beforeAll(async () => {
  h = await startWithDemo()
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
  await h.page.getByTestId('cam-run').click()
  await h.page.waitForFunction(() => document.querySelector('[data-testid="run-tab"]')?.textContent?.includes('(40 · done)'), null, { timeout: 120_000 })
})

afterAll(async () => {
  await h?.close()
})

describe('the library filter and the folder labels', () => {
  it('thumbnails and heatmap cards show the folder label of their image', async () => {
    const thumb = h.page.getByTestId('thumb').first()
    const path = ((await thumb.getAttribute('title')) ?? '').split('\n')[0]
    expect(await thumb.getByTestId('thumb-label').textContent()).toBe(folderOf(path))
    const card = h.page.getByTestId('heat-card').first()
    const file = (await card.locator('.card-text strong').getAttribute('title')) ?? ''
    expect(await card.getByTestId('card-label').textContent()).toContain(`Folder: ${folderOf(file)}`)
  })

  it('"Prediction ≠ folder label" filters the gallery too, says so, and clears from there', async () => {
    await h.page.getByTestId('filter-mismatch').check()
    await h.page.waitForFunction(() => /^[1-9]\d* of 40/.test(document.querySelector('[data-testid="shown-count"]')?.textContent ?? ''))
    const shown = Number(/^(\d+)/.exec((await h.page.getByTestId('shown-count').textContent()) ?? '')?.[1])
    expect(shown).toBeLessThan(40)
    const note = h.page.getByTestId('gallery-filtered')
    expect(await note.getAttribute('data-shown')).toBe(String(shown))
    expect(await note.getAttribute('data-total')).toBe('40')
    expect(await note.textContent()).toContain(`${shown} of 40`)
    // Every card shown is one the library shows, each marked as contradicting its folder label.
    const cards = h.page.getByTestId('card-label')
    expect(await cards.count()).toBe(Math.min(shown, await h.page.getByTestId('heat-card').count()))
    for (const c of await cards.all()) {
      expect(await c.getAttribute('class')).toContain('mismatch')
      expect(await c.textContent()).toContain('≠ prediction')
    }
    await screens('filter-01-gallery-filtered')

    // The detail view moves through the filtered cards and shows the folder label.
    await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
    const detail = h.page.getByTestId('detail-view')
    await detail.waitFor()
    expect(await detail.locator('h2').textContent()).toContain(`1 / ${shown}`)
    const file = (await h.page.getByTestId('heat-card').first().locator('.card-text strong').getAttribute('title')) ?? ''
    expect(await h.page.getByTestId('detail-label').textContent()).toContain(`Folder: ${folderOf(file)}`)
    expect(await h.page.getByTestId('detail-run').textContent()).toContain('fashion_cnn.onnx')
    await screens('filter-02-detail')
    await h.page.getByTestId('detail-close').click()

    await h.page.getByTestId('gallery-filter-clear').click()
    expect(await h.page.getByTestId('shown-count').textContent()).toContain('40 of 40')
    expect(await h.page.getByTestId('filter-mismatch').isChecked()).toBe(false)
    expect(await note.count()).toBe(0)
  })

  it('the exported results.csv has a label column: each image’s folder', async () => {
    const out = join(work, 'export')
    await h.page.getByTestId('export-open').click()
    await h.page.getByTestId('export-dir').fill(out)
    await h.page.getByTestId('export-run').click()
    await h.page.getByTestId('export-message').waitFor()
    const [header, ...rows] = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').map(cells)
    expect(header.slice(0, 12)).toEqual(['file', 'ok', 'method', 'layer', 'top1_index', 'top1_label', 'top1_probability', 'target_index', 'target_label', 'target_probability', 'ms', 'error'])
    const at = header.indexOf('label')
    expect(at).toBe(12)
    expect(rows).toHaveLength(40)
    for (const r of rows) expect(r[at]).toBe(folderOf(r[0]))
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { file: string; label: string }[]
    for (const r of json) expect(r.label).toBe(folderOf(r.file))
  })

  it('logged no page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
