import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditFile } from '../../src/shared/audit'
import { AUDIT_COLUMNS } from '../../src/shared/registry/audit-metrics'
import { maxOf } from '../../src/shared/stats'
import { ROOT, tempDir } from '../helpers'
import { SCREENSHOTS, startWithDemo, type Harness } from './harness'

/**
 * The Audit view in browser mode (issue #11, acceptance 4 and 5): real server, real engine process,
 * real Chromium, the demo model and its labelled Fashion-MNIST images. Runs an audit, watches its
 * progress, opens a plot, drills down to images, saves the report, then opens the saved report in
 * Chromium and checks it makes no network request and logs no error. Screenshots go under
 * test/output/screenshots (audit-*); the two the README shows are copied into docs/.
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')
const work = tempDir('metascope-audit-e2e-')
const DOCS = join(ROOT, 'docs')

const text = async (testid: string) => (await h.page.getByTestId(testid).first().textContent()) ?? ''
const live = () => h.page.getByTestId('audit-live')
const waitStatus = (status: string, timeout = 240_000) =>
  h.page.waitForFunction((s) => document.querySelector('[data-testid="audit-live"]')?.getAttribute('data-status') === s, status, { timeout })
const setChecks = async (prefix: string, wanted: string[], all: readonly string[]) => {
  for (const m of all) await h.page.getByTestId(`${prefix}-${m}`).setChecked(wanted.includes(m))
}

/**
 * Records, in the page, every distinct state the live panel passes through (phase, items streamed,
 * the progress bar), so the test can say what progress the user saw however fast the run goes.
 */
async function watchProgress(): Promise<void> {
  await h.page.evaluate(`(() => {
    window.__auditSeen = []
    const look = () => {
      const el = document.querySelector('[data-testid="audit-live"]')
      const bar = el && el.querySelector('progress')
      const s = el ? [el.getAttribute('data-phase'), Number(el.getAttribute('data-items')), bar ? Number(bar.value) : -1, bar ? Number(bar.max) : -1, el.getAttribute('data-status')] : null
      const last = window.__auditSeen[window.__auditSeen.length - 1]
      if (s && JSON.stringify(s) !== JSON.stringify(last)) window.__auditSeen.push(s)
    }
    window.__auditWatch = setInterval(look, 10)
    new MutationObserver(look).observe(document.body, { subtree: true, attributes: true, childList: true })
  })()`)
}
async function seenProgress(): Promise<[string, number, number, number, string][]> {
  return h.page.evaluate(`(() => { clearInterval(window.__auditWatch); return window.__auditSeen })()`)
}

const METHODS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'eigencam', 'scorecam'] as const
const METRICS = ['deletion', 'insertion', 'road', 'confidence', 'sanity', 'calibration', 'where'] as const

beforeAll(async () => {
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('the Audit view', () => {
  it('is reached from the view tabs and names what is missing: a folder that is not there', async () => {
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-view').waitFor()
    expect(await text('audit-model')).toContain('fashion_cnn.onnx')
    expect(await h.page.getByTestId('audit-run').isDisabled()).toBe(true)
    const missing = join(work, 'no-such-folder')
    await h.page.getByTestId('audit-dir').fill(missing)
    await h.page.getByTestId('audit-run').click()
    await h.page.getByTestId('audit-view').getByTestId('error-note').waitFor()
    expect(await h.page.getByTestId('audit-view').getByTestId('error-note').textContent()).toContain('no-such-folder')
    await h.screenshot('audit-01-missing-folder')
    await h.page.getByTestId('audit-view').getByTestId('error-note').getByRole('button').click()
  })

  it('a running audit can be cancelled, and the view stays usable', async () => {
    // A deliberately slow audit (many curve steps, one image per batch) so Cancel lands mid-run.
    await h.page.getByTestId('audit-demo-dir').click()
    await expect.poll(() => h.page.getByTestId('audit-dir').inputValue()).toBe(demoImages)
    await h.page.getByTestId('audit-advanced').click()
    await h.page.getByTestId('audit-steps').fill('256')
    await h.page.getByTestId('audit-batch').fill('1')
    await h.page.getByTestId('audit-run').click()
    await live().getByTestId('job-cancel').click({ timeout: 60_000 })
    await waitStatus('cancelled', 120_000)
    expect(await text('audit-cancelled')).toMatch(/Cancelled/)
    expect(await h.page.getByTestId('audit-results').count()).toBe(0)
    await h.screenshot('audit-02-cancelled')
    await h.page.getByTestId('audit-steps').fill('20')
    await h.page.getByTestId('audit-batch').fill('8')
  })

  let file: AuditFile
  it('runs an audit of the demo model on its labelled images, showing progress as it goes', async () => {
    await setChecks('audit-method', ['gradcam', 'gradcam++'], METHODS)
    await setChecks('audit-metric', [...METRICS], METRICS)
    await h.page.getByTestId('audit-out').fill(join(work, 'run-out'))
    await watchProgress()
    await h.page.getByTestId('audit-run').click()
    await waitStatus('done')
    await h.page.getByTestId('audit-results').waitFor()
    const seen = await seenProgress()
    // The user saw the run in its computing phase with a partly filled bar, and images streaming in.
    const computing = seen.filter((s) => s[0] === 'computing' && s[4] === 'running')
    expect(computing.length).toBeGreaterThan(0)
    expect(computing.some((s) => s[2] > 0 && s[2] < s[3])).toBe(true)
    expect(seen.some((s) => s[0] === 'sanity' && s[4] === 'running')).toBe(true)
    expect(maxOf(seen.map((s) => s[1]))).toBe(40)

    // What the view shows is what the engine wrote (audit.json in the chosen output folder).
    const written = join(work, 'run-out', 'audit.json')
    expect(await text('audit-written')).toContain(join(work, 'run-out'))
    file = JSON.parse(readFileSync(written, 'utf8')) as AuditFile
    expect(file.dataset.count).toBe(40)
    expect(file.dataset.labelled).toBe(true)
    const summary = file.summary
    expect(await h.page.getByTestId('method-row').count()).toBe(2)
    const ranked = await h.page.$$eval('[data-testid="method-row"]', (rows) => rows.map((r) => [r.getAttribute('data-method'), Number(r.getAttribute('data-rank'))]))
    expect(ranked).toEqual([...summary.methods].sort((a, b) => a.rank - b.rank).map((m) => [m.method, m.rank]))
    // The ranking's columns are the registry's, in its order.
    const cols = await h.page.locator('[data-testid="method-row"]').first().locator('[data-col]').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-col')))
    expect(cols).toEqual(AUDIT_COLUMNS.map((c) => c.key))
    const firstDeletion = await h.page.locator('[data-testid="method-row"]').first().locator('[data-col="deletion"]').textContent()
    expect(Number(firstDeletion)).toBeCloseTo([...summary.methods].sort((a, b) => a.rank - b.rank)[0].deletion!, 3)
    // Accuracy: the per-class table adds up to the images whose prediction is their folder's class.
    const correct = file.images.filter((i) => i.label !== null && i.predicted === i.label).length
    expect(await text('overall-accuracy')).toBe(`${((correct / 40) * 100).toFixed(1)}%`)
    expect(await h.page.getByTestId('class-row').count()).toBe(10)
    expect(await text('ece')).toBe(summary.calibration!.ece.toFixed(3))
    const cells = await h.page.$$eval('[data-testid="plot-confusion"] [data-testid="confusion-cell"]', (els) => els.map((e) => Number(e.getAttribute('data-count'))))
    expect(cells).toHaveLength(100)
    expect(cells.reduce((a, b) => a + b, 0)).toBe(40)
    expect(cells).toEqual(summary.calibration!.confusion.flat())
    const bars = Number(await h.page.getByTestId('plot-reliability').getAttribute('data-bars'))
    expect(bars).toBe(summary.calibration!.bins.filter((b) => b.count > 0).length)
    for (const plot of ['plot-deletion', 'plot-insertion', 'plot-road']) {
      expect(await h.page.getByTestId(plot).locator('[data-testid="curve"]').count(), plot).toBeGreaterThanOrEqual(2)
    }
    // Deletion curves: steps + 1 = 21 points per method.
    expect(await h.page.getByTestId('plot-deletion').locator('[data-testid="curve"]').first().getAttribute('data-count')).toBe('21')
    expect(Number(await h.page.getByTestId('plot-sanity').getAttribute('data-steps'))).toBe(summary.sanity!.steps.length)
    await h.page.getByTestId('audit-results').scrollIntoViewIfNeeded()
    await h.screenshot('audit-03-results')
  })

  it('opens a plot larger, and switches the sanity plot between its two similarity measures', async () => {
    await h.page.getByTestId('open-plot-reliability').click()
    const modal = h.page.getByTestId('plot-modal')
    await modal.waitFor()
    expect(await modal.getAttribute('data-plot')).toBe('reliability')
    const big = await modal.locator('svg').boundingBox()
    const small = await h.page.getByTestId('audit-results').locator('.plot-card [data-testid="plot-reliability"] svg').boundingBox()
    expect(big!.width).toBeGreaterThan(small!.width * 1.5)
    await h.screenshot('audit-04-plot-open')
    await h.page.keyboard.press('Escape')
    await modal.waitFor({ state: 'detached' })

    await h.page.getByTestId('open-plot-sanity').click()
    const sanity = h.page.getByTestId('plot-modal').getByTestId('plot-sanity')
    const before = await sanity.locator('polyline').first().getAttribute('points')
    await sanity.getByTestId('sanity-measure').selectOption('ssim')
    await expect.poll(() => sanity.getAttribute('data-measure')).toBe('ssim')
    expect(await sanity.locator('polyline').first().getAttribute('points')).not.toBe(before)
    await h.page.getByTestId('plot-modal-close').click()
  })

  it('drills down from a worst case to the image and its heatmap per method', async () => {
    const list = (file.summary.calibration!.mostConfidentMistakes.length ? 'worst-mistakes' : 'worst-unsure') as string
    const cases = h.page.getByTestId(list).getByTestId('worst-case')
    expect(await cases.count()).toBeGreaterThan(0)
    const path = await cases.first().getAttribute('data-path')
    await cases.first().click()
    const drill = h.page.getByTestId('audit-drill')
    await drill.waitFor()
    expect(await drill.getAttribute('data-kind')).toBe('worst')
    expect(await text('drill-caption')).toContain(path!.split('/').pop()!)
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="audit-drill"] img')].every((i) => (i as HTMLImageElement).naturalWidth > 0))
    expect(await drill.getByTestId('drill-overlay').count()).toBe(2)
    await h.screenshot('audit-05-drill-worst')
    await h.page.keyboard.press('Escape')
    await drill.waitFor({ state: 'detached' })
  })

  it('drills down from a confusion cell to its images, with heatmaps computed for them', async () => {
    // A mistake cell when there is one (the interesting case), else the fullest correct cell.
    const cells = await h.page.$$eval('[data-testid="plot-confusion"] [data-testid="confusion-cell"]', (els) =>
      els.map((e) => ({ t: Number(e.getAttribute('data-truth')), p: Number(e.getAttribute('data-predicted')), n: Number(e.getAttribute('data-count')) }))
    )
    const mistakes = cells.filter((c) => c.t !== c.p && c.n > 0)
    const cell = mistakes[0] ?? [...cells].sort((a, b) => b.n - a.n)[0]
    await h.page.locator(`.plot-card [data-testid="confusion-cell"][data-truth="${cell.t}"][data-predicted="${cell.p}"]`).click()
    const drill = h.page.getByTestId('audit-drill')
    await drill.waitFor()
    expect(await drill.getAttribute('data-kind')).toBe('cell')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="drill-cell"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    expect(await drill.getByTestId('drill-cell-image').count()).toBe(cell.n)
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="drill-cell-image"]')].every((li) => li.getAttribute('data-ready') === 'true'))
    expect(await drill.locator('canvas').count()).toBe(cell.n)
    await h.page.waitForTimeout(200)
    await h.screenshot('audit-06-drill-cell')
    await h.page.getByTestId('audit-drill-close').click()
    await drill.waitFor({ state: 'detached' })
  })

  let report = ''
  it('saves the report: a download in browser mode, and into a folder on the engine side', async () => {
    const [download] = await Promise.all([h.page.waitForEvent('download'), h.page.getByTestId('audit-download').click()])
    report = join(work, 'downloaded', 'report.html')
    mkdirSync(join(work, 'downloaded'), { recursive: true })
    await download.saveAs(report)
    expect(download.suggestedFilename()).toBe('report.html')
    expect(readFileSync(report, 'utf8')).toMatch(/^<!doctype html>/i)

    const dir = join(work, 'saved')
    await h.page.getByTestId('audit-save-dir').fill(dir)
    await h.page.getByTestId('audit-save').click()
    await h.page.getByTestId('audit-saved').waitFor({ timeout: 240_000 })
    expect(await text('audit-saved')).toContain(join(dir, 'report.html'))
    expect(statSync(join(dir, 'report.html')).size).toBeGreaterThan(1000)
    // The same settings and files give the same numbers.
    const again = JSON.parse(readFileSync(join(dir, 'audit.json'), 'utf8')) as AuditFile
    expect(again.summary.methods).toEqual(file.summary.methods)
    expect(again.summary.calibration?.confusion).toEqual(file.summary.calibration?.confusion)

    // The Audit view for the README: results with the form above them.
    await h.page.getByTestId('audit-advanced').click()
    await h.page.setViewportSize({ width: 1440, height: 1400 })
    await h.page.evaluate(() => document.querySelector('.audit-scroll')?.scrollTo(0, document.querySelector('[data-testid="audit-headline"]')!.getBoundingClientRect().top - 260))
    await h.page.waitForTimeout(200)
    copyFileSync(await h.screenshot('audit-07-readme'), join(DOCS, 'screenshot-audit.png'))
    await h.page.setViewportSize({ width: 1280, height: 800 })
  })

  it('the saved report opens in Chromium with no network request and no console error', async () => {
    const page = await h.browser.newPage({ viewport: { width: 1280, height: 1400 } })
    const requests: string[] = []
    const errors: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    page.on('pageerror', (e) => errors.push(e.message))
    const url = pathToFileURL(report).href
    await page.goto(url, { waitUntil: 'load' })
    await page.waitForTimeout(300)
    // Every image is inline and has loaded.
    const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.src.slice(0, 5), ok: i.complete && i.naturalWidth > 0 })))
    expect(images.length).toBeGreaterThan(0)
    expect(images.filter((i) => i.src !== 'data:' || !i.ok)).toEqual([])
    expect(requests).toContain(url)
    expect(requests.filter((r) => r !== url && !r.startsWith('data:'))).toEqual([])
    expect(errors).toEqual([])
    const body = await page.textContent('body')
    expect(body).toContain('fashion_cnn.onnx')
    expect(body).toContain(file.model.sha256)
    await page.screenshot({ path: join(SCREENSHOTS, 'audit-08-report-full.png'), fullPage: true })
    // For the README: the report from its first plot on (the model and data set tables are above it).
    await page.evaluate(() => {
      const svg = document.querySelector('svg')
      if (svg) window.scrollTo(0, svg.getBoundingClientRect().top + window.scrollY - 320)
    })
    const shot = join(SCREENSHOTS, 'audit-08-report.png')
    await page.screenshot({ path: shot })
    copyFileSync(shot, join(DOCS, 'screenshot-audit-report.png'))
    await page.close()
  })

  it('speaks Japanese', async () => {
    await h.page.getByTestId('language').selectOption('ja')
    await h.page.waitForFunction(() => document.querySelector('#audit-heading')?.textContent === '監査')
    expect(await h.page.getByTestId('audit-run').textContent()).toContain('監査を実行')
    await h.screenshot('audit-09-japanese')
    await h.page.getByTestId('language').selectOption('en')
  })

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
    expect(existsSync(join(DOCS, 'screenshot-audit.png'))).toBe(true)
  })
})
