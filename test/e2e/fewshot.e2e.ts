import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ADAPT_DEFAULTS } from '../../src/shared/fewshot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers'
import { dropFiles, SCREENSHOTS, startFrames, startWithDemo, stopFrames, type Harness } from './harness'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'

/**
 * The Few-shot view in browser mode: real server, real engine process, real Chromium, the demo model
 * and its real Fashion-MNIST images. One screenshot per stage under test/output/screenshots (fewshot-*).
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')
const work = tempDir('metascope-fewshot-e2e-')
const CLASSES = ['Bag', 'Sandal', 'Trouser']
const sorted = (dir: string) => readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))

const text = async (testid: string) => (await h.page.getByTestId(testid).first().textContent()) ?? ''
const classCounts = () =>
  h.page.$$eval('[data-testid="fs-class"]', (els) => els.map((e) => ({ name: e.getAttribute('data-name'), support: Number(e.getAttribute('data-support')), query: Number(e.getAttribute('data-query')) })))
/** Calls the API as the page would (with its session cookie), from the test process. */
async function apiCall(method: string, args: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }> {
  const cookie = (await h.page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
  const response = await fetch(`${h.base}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(args) })
  return (await response.json()) as { ok: boolean; value?: unknown; error?: { code: string; message: string } }
}

beforeAll(async () => {
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('few-shot in the app', () => {
  it('a single class and a class with too few images each get a clear message; Run waits', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fewshot-view').waitFor()
    await h.page.getByTestId('fs-add-class').click()
    expect(await text('fs-board-issue')).toMatch(/Only one class/)
    expect(await text('fs-class-issue')).toMatch(/Too few images: 0 here, at least 2/)
    expect(await h.page.getByTestId('fs-run').isDisabled()).toBe(true)
    await h.screenshot('fewshot-01-one-class')
    await h.page.getByTestId('fs-remove-class').click()
    expect(await h.page.getByTestId('fs-class').count()).toBe(0)
  })

  it('creates 3 classes from folders of real images, then takes one more image dropped onto a class', async () => {
    const root = join(work, 'clothes')
    for (const c of CLASSES) {
      mkdirSync(join(root, c), { recursive: true })
      for (const f of sorted(join(demoImages, c)).slice(0, 3)) copyFileSync(join(demoImages, c, f), join(root, c, f))
    }
    await h.page.getByTestId('fs-folder-input').setInputFiles(root)
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 3)
    expect(await classCounts()).toEqual(CLASSES.map((name) => ({ name, support: 2, query: 1 })))
    const extra = sorted(join(demoImages, 'Bag'))[3]
    await dropFiles(h.page, '[data-testid="fs-class"][data-name="Bag"]', [{ name: `extra-${extra}`, bytes: readFileSync(join(demoImages, 'Bag', extra)) }])
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-class"][data-name="Bag"]')?.getAttribute('data-query') === '2')
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="fs-image"] img')].every((i) => (i as HTMLImageElement).naturalWidth > 0))
    expect(await h.page.getByTestId('fs-run').isEnabled()).toBe(true)
    expect(await text('fs-what')).toMatch(/Only the last layer/)
    await h.screenshot('fewshot-02-classes')
  })

  it('an unreadable image and a too-small class get messages in place; nothing else is lost', async () => {
    await h.page.getByTestId('fs-add-class').click()
    await dropFiles(h.page, '[data-testid="fs-class"]:last-of-type', [{ name: 'broken.png', bytes: Buffer.from('not a png') }])
    await h.page.getByTestId('fs-failures').waitFor()
    expect(await text('fs-failures')).toContain('broken.png')
    expect(await h.page.getByTestId('fs-class').last().getByTestId('fs-class-issue').textContent()).toMatch(/Too few images/)
    expect(await h.page.getByTestId('fs-run').isDisabled()).toBe(true)
    await h.screenshot('fewshot-03-problems')
    await h.page.getByTestId('fs-class').last().getByTestId('fs-remove-class').click()
    expect((await classCounts()).map((c) => c.support + c.query)).toEqual([4, 3, 3])

    // The engine checks explicit sets the same way and names the class and the file.
    const model = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
    const img = (c: string, i: number) => join(demoImages, c, sorted(join(demoImages, c))[i])
    const one = await apiCall('fewshot.adapt', { modelPath: model, sets: { classes: [{ name: 'Bag', support: [img('Bag', 0)], query: [img('Bag', 1)] }] } })
    expect(one.error?.message).toMatch(/only "Bag"\); few-shot needs at least 2 classes/)
    writeFileSync(join(work, 'broken.png'), 'not a png')
    const few = await apiCall('fewshot.adapt', {
      modelPath: model,
      sets: { classes: [{ name: 'Bag', support: [img('Bag', 0)], query: [img('Bag', 1)] }, { name: 'Coat', support: [join(work, 'broken.png')], query: [img('Coat', 1)] }] }
    })
    expect(few.error?.message).toMatch(/class "Coat" has 0 support and 1 query image.*Coat\/broken\.png/)
  })

  it('runs Proto-MAML on the demo model: loss chart, accuracy before and after, confusion matrix', async () => {
    expect(await h.page.getByTestId('fs-method').inputValue()).toBe('protomaml')
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    await h.page.getByTestId('fs-results').waitFor()
    expect(Number(await h.page.getByTestId('fs-loss-chart').getAttribute('data-points'))).toBe(ADAPT_DEFAULTS.steps)
    expect(await text('fs-acc-before')).toMatch(/%$/)
    expect(await text('fs-acc-after')).toMatch(/%$/)
    expect(Number(await h.page.getByTestId('fs-accuracy').getAttribute('data-after'))).toBeGreaterThan(0.5)
    expect(await h.page.getByTestId('fs-cell').count()).toBe(9)
    const cells = await h.page.$$eval('[data-testid="fs-cell"]', (tds) => tds.map((td) => Number(td.textContent)))
    expect(cells.reduce((a, b) => a + b, 0)).toBe(4)
    expect(await h.page.getByTestId('fs-card').count()).toBe(4)
    expect(await text('fs-pred')).toContain('→')
    await h.page.getByTestId('fs-results').scrollIntoViewIfNeeded()
    // The README's picture is the few-shot demo's (fewshot-demo.e2e.ts): classes the model never saw.
    await h.screenshot('fewshot-04-results')
  })

  it('opens Grad-CAM before vs after for a query image, then all of them in the compare view', async () => {
    await h.page.getByTestId('fs-pair-open').first().click()
    await h.page.getByTestId('fs-pair').waitFor()
    await h.page.waitForFunction(() => ['before', 'after'].every((s) => document.querySelector(`[data-testid="fs-pair-${s}"]`)?.getAttribute('data-ready') === 'true'), null, { timeout: 120_000 })
    expect(await h.page.getByTestId('fs-pair-before').locator('canvas').count()).toBe(1)
    expect(await h.page.getByTestId('fs-pair-after').textContent()).toMatch(/After: adapted model.*: (Bag|Sandal|Trouser) \(/)
    await h.page.waitForTimeout(300)
    await h.screenshot('fewshot-05-gradcam-pair')
    await h.page.keyboard.press('Escape')
    await h.page.getByTestId('fs-pair').waitFor({ state: 'detached' })
    await h.page.getByTestId('fs-cam-all').click()
    await h.page.getByTestId('compare-view').waitFor()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="compare-count"]')?.getAttribute('data-count') === '4', null, { timeout: 120_000 })
    await h.page.waitForTimeout(300)
    await h.screenshot('fewshot-06-compare')
    await h.page.getByTestId('compare-close').click()
  })

  it('saves the adapted model as ONNX and opens it as the current model', async () => {
    const out = join(work, 'adapted')
    await h.page.getByTestId('fs-save-dir').fill(out)
    await h.page.getByTestId('fs-save-model').click()
    await h.page.getByTestId('fs-saved').waitFor({ timeout: 60_000 })
    expect(existsSync(join(out, 'model.onnx'))).toBe(true)
    expect(JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')).classes).toEqual(CLASSES)
    // Browser mode also offers the model as a download: it opens as a 3-class model with the new labels.
    const [download] = await Promise.all([h.page.waitForEvent('download'), h.page.getByTestId('fs-download-model').click()])
    const downloaded = join(work, 'downloaded.onnx')
    await download.saveAs(downloaded)
    expect(download.suggestedFilename()).toBe('adapted-model.onnx')
    expect((await LoadedModel.open(downloaded)).labels).toEqual(CLASSES)
    await h.page.getByTestId('fs-open-model').click()
    await h.page.waitForFunction((p) => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes(p), 'model.onnx')
    expect(await text('model-summary')).toContain('3')
    await h.screenshot('fewshot-07-adapted-model-open')
  })

  it('meta-trains on Fashion-MNIST: the chart updates while training, the UI stays responsive', async () => {
    // Checkpoints go into the workspace: save one first.
    await h.page.getByTestId('workspace-dir').fill(join(work, 'workspace'))
    await h.page.getByTestId('workspace-save').click()
    await h.page.getByTestId('workspace-message').waitFor()
    await h.page.getByTestId('fs-tab-meta').click()
    await h.page.getByTestId('fm-iterations').fill('8')
    await h.page.locator('.fs-meta details summary').click()
    await h.page.getByTestId('fm-eval').fill('5')
    await startFrames(h.page)
    await h.page.getByTestId('fm-start').click()
    await h.page.waitForFunction(() => Number(document.querySelector('[data-testid="fm-live"]')?.getAttribute('data-items')) >= 2, null, { timeout: 180_000 })
    const during = Number(await h.page.getByTestId('fm-loss-chart').getAttribute('data-points'))
    expect(await h.page.getByTestId('fm-live').getAttribute('data-status')).toBe('running')
    await h.screenshot('fewshot-08-meta-training')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fm-live"]')?.getAttribute('data-status') !== 'running', null, { timeout: 240_000 })
    expect(await h.page.getByTestId('fm-live').getAttribute('data-status')).toBe('done')
    const frames = await stopFrames(h.page)
    const after = Number(await h.page.getByTestId('fm-loss-chart').getAttribute('data-points'))
    expect(after).toBeGreaterThan(during)
    expect(await text('fm-result')).toMatch(/8 iterations; checkpoint .*metatrain-protomaml\.ckpt\. Test accuracy/)
    expect(existsSync(join(work, 'workspace', 'metatrain-protomaml.ckpt'))).toBe(true)
    writeFileSync(join(SCREENSHOTS, 'fewshot-frames.json'), JSON.stringify(frames, null, 2) + '\n')
    console.log(`longest UI frame during meta-training: ${frames.longestMs.toFixed(1)} ms (${frames.frames} frames, p99 ${frames.p99Ms.toFixed(1)} ms)`)
    expect(frames.frames).toBeGreaterThan(10)
    await h.screenshot('fewshot-09-meta-done')
  }, 300_000)

  it('a cancelled run leaves the view usable: resume continues, adaptation runs again', async () => {
    await h.page.getByTestId('fm-iterations').fill('400')
    await h.page.getByTestId('fm-resume').check()
    await h.page.getByTestId('fm-start').click()
    await h.page.waitForFunction(() => Number(document.querySelector('[data-testid="fm-live"]')?.getAttribute('data-items')) >= 1, null, { timeout: 180_000 })
    await h.page.getByTestId('fm-live').getByTestId('job-cancel').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fm-live"]')?.getAttribute('data-status') === 'cancelled', null, { timeout: 120_000 })
    await h.screenshot('fewshot-10-cancelled')
    await h.page.getByTestId('fs-tab-adapt').click()
    await h.page.getByTestId('fs-method').selectOption('anil')
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-run-tab"]')[1]?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    await h.page.getByTestId('fs-results').waitFor()
  })

  it('saves the workspace, reloads and reopens it with the few-shot sets and results intact', async () => {
    const dir = join(work, 'workspace')
    await h.page.getByTestId('fs-run-tab').first().click()
    const acc = await text('fs-acc-after')
    await h.page.getByTestId('workspace-save').click()
    // Saved before (for the checkpoint): wait for this save, which holds both runs.
    const runsSaved = () => (JSON.parse(readFileSync(join(dir, 'workspace.json'), 'utf8')) as { fewshot?: { runs: unknown[] } }).fewshot?.runs.length
    await expect.poll(runsSaved, { timeout: 60_000 }).toBe(2)
    await h.page.waitForFunction(() => !(document.querySelector('[data-testid="workspace-save"]') as HTMLButtonElement).disabled)
    await h.page.reload()
    await h.page.getByTestId('backend-ort').waitFor()
    await h.page.getByTestId('workspace-dir').fill(dir)
    await h.page.getByTestId('workspace-open').click()
    await h.page.getByTestId('view-fewshot').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-run-tab"]').length === 2)
    expect(await classCounts()).toEqual([
      { name: 'Bag', support: 2, query: 2 },
      { name: 'Sandal', support: 2, query: 1 },
      { name: 'Trouser', support: 2, query: 1 }
    ])
    await h.page.getByTestId('fs-run-tab').first().click()
    expect(await text('fs-acc-after')).toBe(acc)
    // The adapted models were copied into the workspace, so they outlive the server's temporary folder.
    const saved = JSON.parse(readFileSync(join(dir, 'workspace.json'), 'utf8')) as { fewshot: { runs: { report: { adaptedModel: string } | null }[] } }
    expect(saved.fewshot.runs.map((r) => r.report?.adaptedModel)).toEqual([join(dir, 'fewshot-models', 'run-1', 'model.onnx'), join(dir, 'fewshot-models', 'run-2', 'model.onnx')])
    expect(existsSync(join(dir, 'fewshot-models', 'run-2', 'model.onnx'))).toBe(true)
    expect(await h.page.getByTestId('fs-card').count()).toBe(4)
    await h.page.getByTestId('fs-tab-meta').click()
    expect(Number(await h.page.getByTestId('fm-loss-chart').getAttribute('data-points'))).toBeGreaterThan(0)
    await h.page.getByTestId('fs-tab-adapt').click()
    await h.screenshot('fewshot-11-workspace-reopened')
  })

  it('speaks Japanese', async () => {
    await h.page.getByTestId('language').selectOption('ja')
    await h.page.waitForFunction(() => document.querySelector('#fewshot-heading')?.textContent === '少数ショット')
    await h.screenshot('fewshot-12-japanese')
    await h.page.getByTestId('language').selectOption('en')
  })

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
