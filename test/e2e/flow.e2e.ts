import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, ROOT, tempDir } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * The whole auditing flow in browser mode: real server, real engine process, real Chromium, the
 * demo model made by scripts/demo/make_demo.py. One screenshot per stage under test/output/screenshots.
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')
const work = tempDir('metascope-e2e-')

/** Whether process `pid` has `ancestor` above it (the engine runs under tsx under the server). */
function isDescendant(pid: number, ancestor: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 10; i++) {
    const ppid = Number(/PPid:\t(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1])
    if (ppid === ancestor) return true
    p = ppid
  }
  return false
}

/** "(N · status)" on a run tab: the item count and status of the run, whatever is scrolled into view. */
async function runTab(index: number): Promise<{ items: number; status: string }> {
  const text = (await h.page.getByTestId('run-tab').nth(index).textContent()) ?? ''
  const m = /\((\d+) · ([^)]+)\)/.exec(text)
  return { items: Number(m?.[1] ?? -1), status: m?.[2] ?? '' }
}

async function waitRun(index: number, status: string): Promise<{ items: number; status: string }> {
  await h.page.waitForFunction(
    ([i, s]) => document.querySelectorAll('[data-testid="run-tab"]')[i as number]?.textContent?.includes(s as string),
    [index, status],
    { timeout: 120_000 }
  )
  return runTab(index)
}

async function firstCanvasPixels(): Promise<number[]> {
  return h.page.$eval('[data-testid="heat-card"] canvas', (c) => {
    const canvas = c as HTMLCanvasElement
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
    return [d[0], d[1], d[2], d[Math.floor(d.length / 2)], d[Math.floor(d.length / 2) + 1]]
  })
}

beforeAll(async () => {
  h = await startHarness()
})

afterAll(async () => {
  await h?.close()
})

describe('the audit flow in Chromium', () => {
  it('refuses the page without the token, then shows the shell and the compute backends', async () => {
    expect((await fetch(h.base + '/')).status).toBe(401)
    await h.page.goto(h.url)
    expect(new URL(h.page.url()).searchParams.has('token')).toBe(false)
    await h.page.getByTestId('backend-ort').waitFor()
    expect(await h.page.getByTestId('backend-ort').textContent()).toMatch(/onnxruntime .* cpu/)
    // The provider that runs jobs, nothing about optional packages (issue #20).
    expect(await h.page.getByTestId('backend-tfjs').count()).toBe(0)
    await h.screenshot('01-start')
  })

  it('opens the demo model with one click and lists its layers', async () => {
    await h.page.getByTestId('open-demo').click()
    await h.page.getByTestId('model-summary').waitFor()
    expect(await h.page.getByTestId('model-summary').textContent()).toContain('10')
    expect(await h.page.getByTestId('layer-list').textContent()).toMatch(/auto/)
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
  })

  it('adds a folder through the file input and files through a synthetic drop', async () => {
    const folder = join(work, 'photos')
    for (const cls of ['animals', 'objects']) {
      mkdirSync(join(folder, cls), { recursive: true })
      for (const f of readdirSync(fixture('images', cls))) copyFileSync(fixture('images', cls, f), join(folder, cls, f))
    }
    await h.page.getByTestId('folder-input').setInputFiles(folder)
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('44'))
    const bytes = readFileSync(fixture('images', 'people', 'astronaut.png')).toString('base64')
    await h.page.evaluate((b64) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const dt = new DataTransfer()
      dt.items.add(new File([bin], 'dropped-astronaut.png', { type: 'image/png' }))
      const panel = document.querySelector('[data-testid="image-panel"]')!
      panel.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }))
      panel.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    }, bytes)
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('45'))
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="thumb"] img')].some((i) => (i as HTMLImageElement).naturalWidth > 0))
    await h.screenshot('02-library')
  })

  it('runs Grad-CAM: one card per image, with predictions', async () => {
    await h.page.getByTestId('cam-run').click()
    const run = await waitRun(0, 'done')
    expect(run.items).toBe(45)
    const first = h.page.getByTestId('heat-card').first()
    await first.waitFor()
    expect(await first.getByTestId('predictions').textContent()).toMatch(/%/)
    // The README's first picture is this one, retaken on every run.
    copyFileSync(await h.screenshot('03-gradcam'), join(ROOT, 'docs', 'screenshot-gradcam.png'))
    // Folder names are the expected labels: the demo has images the model gets wrong.
    await h.page.getByTestId('filter-mismatch').check()
    await h.page.waitForFunction(() => /^([1-9]\d*) of 45/.test(document.querySelector('[data-testid="shown-count"]')?.textContent ?? ''))
    const mismatched = Number(/^(\d+)/.exec((await h.page.getByTestId('shown-count').textContent()) ?? '')?.[1])
    expect(mismatched).toBeLessThan(12)
    await h.page.getByTestId('filter-mismatch').uncheck()
  })

  it('colormap and opacity apply instantly to the cards', async () => {
    const before = await firstCanvasPixels()
    await h.page.getByTestId('colormap').selectOption('viridis')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="heat-card"] canvas')?.getAttribute('data-colormap') === 'viridis')
    await h.page.waitForTimeout(100)
    const afterColormap = await firstCanvasPixels()
    expect(afterColormap).not.toEqual(before)
    await h.page.getByTestId('opacity').fill('0.9')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="heat-card"] canvas')?.getAttribute('data-alpha') === '0.9')
    await h.page.waitForTimeout(100)
    expect(await firstCanvasPixels()).not.toEqual(afterColormap)
    await h.page.getByTestId('shared-scale').check()
    await h.screenshot('04-colormap-opacity')
    await h.page.getByTestId('shared-scale').uncheck()
  })

  it('opens the detail view and moves with the keyboard', async () => {
    await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
    const detail = h.page.getByTestId('detail-view')
    await detail.waitFor()
    expect(await detail.locator('h2').textContent()).toContain('1 / 45')
    await h.page.keyboard.press('ArrowRight')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="detail-view"] h2')?.textContent?.includes('2 / 45'))
    expect(await h.page.getByTestId('detail-predictions').locator('li').count()).toBe(5)
    await h.screenshot('05-detail')
    await h.page.keyboard.press('Escape')
    await detail.waitFor({ state: 'detached' })
  })

  it('multi-selects images with Ctrl/Shift-click and runs only on the selection', async () => {
    const thumbs = h.page.getByTestId('thumb')
    await thumbs.nth(0).click()
    await thumbs.nth(2).click({ modifiers: ['Shift'] })
    await thumbs.nth(4).click({ modifiers: ['Control'] })
    expect(await h.page.getByTestId('cam-run').textContent()).toContain('Run on 4 selected')
    await h.page.getByTestId('cam-method').selectOption('layercam')
    await h.page.getByTestId('cam-run').click()
    expect((await waitRun(1, 'done')).items).toBe(4)
    await h.page.getByRole('button', { name: 'Clear selection' }).click()
    expect(await h.page.getByTestId('cam-run').textContent()).not.toContain('selected')
  })

  it('runs a second method and compares the two side by side', async () => {
    await h.page.getByTestId('cam-method').selectOption('gradcam++')
    await h.page.getByTestId('cam-run').click()
    expect((await waitRun(2, 'done')).items).toBe(45)
    await h.page.getByTestId('compare-open').click()
    await h.page.getByTestId('compare-view').waitFor()
    // B defaults to the previous run (4 selected images); compare against the first, full run.
    expect(await h.page.getByTestId('compare-count').getAttribute('data-count')).toBe('4')
    await h.page.getByTestId('compare-b').selectOption({ index: 0 })
    expect(await h.page.getByTestId('compare-count').getAttribute('data-count')).toBe('45')
    expect(await h.page.getByTestId('compare-row').count()).toBeGreaterThan(0)
    await h.screenshot('06-compare')
    await h.page.getByTestId('compare-close').click()
  })

  it('cancels a long job mid-way: no further results arrive and the UI stays usable', async () => {
    const many = join(work, 'many')
    mkdirSync(many)
    const sources = readdirSync(demoImages).flatMap((c) => readdirSync(join(demoImages, c)).map((f) => join(demoImages, c, f)))
    for (let i = 0; i < 600; i++) copyFileSync(sources[i % sources.length], join(many, `copy${String(i).padStart(3, '0')}.png`))
    await h.page.getByTestId('images-path-input').fill(many)
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('645'))
    await h.page.getByTestId('cam-method').selectOption('scorecam')
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(() => Number(/\((\d+) ·/.exec(document.querySelectorAll('[data-testid="run-tab"]')[3]?.textContent ?? '')?.[1] ?? 0) > 0)
    await h.page.getByTestId('job-cancel').click()
    const cancelled = await waitRun(3, 'cancelled')
    expect(cancelled.items).toBeGreaterThan(0)
    expect(cancelled.items).toBeLessThan(645)
    await h.page.getByTestId('job-cancelled').waitFor()
    await h.page.waitForTimeout(1000)
    expect((await runTab(3)).items).toBe(cancelled.items)
    await h.screenshot('07-cancelled')
  })

  it('exports overlays, maps, JSON and CSV into a folder', async () => {
    await h.page.getByTestId('run-tab').first().click()
    const out = join(work, 'export')
    await h.page.getByTestId('export-open').click()
    await h.page.getByTestId('export-dir').fill(out)
    await h.page.getByTestId('export-run').click()
    await h.page.getByTestId('export-message').waitFor()
    const files = readdirSync(out)
    expect(files).toContain('results.json')
    expect(files).toContain('results.csv')
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(45)
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toHaveLength(45)
    await h.screenshot('08-export')
    await h.page.getByTestId('export-close').click()
  })

  it('saves the workspace, reloads the page and reopens it', async () => {
    const dir = join(work, 'workspace')
    await h.page.getByTestId('workspace-dir').fill(dir)
    await h.page.getByTestId('workspace-save').click()
    await h.page.getByTestId('workspace-message').waitFor()
    expect(existsSync(join(dir, 'workspace.json'))).toBe(true)
    await h.page.reload()
    await h.page.getByTestId('backend-ort').waitFor()
    expect(await h.page.getByTestId('run-tab').count()).toBe(0)
    await h.page.getByTestId('workspace-dir').fill(dir)
    await h.page.getByTestId('workspace-open').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-tab"]').length === 4)
    expect((await runTab(0)).items).toBe(45)
    await h.page.getByTestId('run-tab').first().click()
    await h.page.getByTestId('heat-card').first().waitFor()
    await h.screenshot('09-workspace-reopened')
  })

  it('survives an engine crash: says so, reopens the model and images, and runs again', async () => {
    // The engine is a child process of the server; kill it the way a native crash would.
    const pid = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .find((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('engine-process') && isDescendant(p, h.server.pid!)
        } catch {
          return false // the process ended while we looked
        }
      })
    expect(pid).toBeGreaterThan(0)
    process.kill(pid!, 'SIGKILL')
    await h.page.getByTestId('engine-notice').waitFor()
    expect(await h.page.getByTestId('engine-notice').textContent()).toMatch(/compute engine stopped/)
    await h.page.waitForFunction(() => document.querySelector('[data-testid="engine-notice"]')?.getAttribute('data-recovering') === 'false')
    expect(await h.page.getByTestId('engine-notice').textContent()).toMatch(/reopened/)
    await h.page.getByTestId('cam-method').selectOption('gradcam')
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-tab"]').length === 5)
    expect((await waitRun(4, 'done')).items).toBe(645)
    await h.screenshot('10-engine-restarted')
  })

  it('a corrupt image and a corrupt model each get a clear message and the UI keeps working', async () => {
    const bad = join(work, 'bad')
    mkdirSync(bad)
    writeFileSync(join(bad, 'empty.png'), '')
    writeFileSync(join(bad, 'broken.jpg'), 'not a jpeg')
    await h.page.getByTestId('images-path-input').fill(bad)
    await h.page.getByTestId('images-path-submit').click()
    const failures = h.page.getByTestId('image-failures')
    await failures.waitFor()
    expect(await failures.textContent()).toContain('empty.png')
    expect(await failures.textContent()).toContain('broken.jpg')
    const model = readFileSync(join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'))
    writeFileSync(join(work, 'truncated.onnx'), model.subarray(0, model.length / 2))
    await h.page.getByTestId('model-path-input').fill(join(work, 'truncated.onnx'))
    await h.page.getByTestId('model-path-submit').click()
    const note = h.page.getByTestId('model-panel').getByTestId('error-note')
    await note.waitFor()
    expect(await note.textContent()).toContain('truncated.onnx')
    expect(await h.page.getByTestId('model-summary').textContent()).toContain('fashion_cnn.onnx')
    await h.screenshot('11-errors')
  })

  it('switches the UI to Japanese and back', async () => {
    await h.page.getByTestId('language').selectOption('ja')
    await h.page.waitForFunction(() => document.querySelector('#model-heading')?.textContent === 'モデル')
    expect(await h.page.evaluate(() => document.documentElement.lang)).toBe('ja')
    await h.page.getByTestId('theme').selectOption('dark')
    await h.screenshot('12-japanese-dark')
    await h.page.getByTestId('language').selectOption('en')
    await h.page.getByTestId('theme').selectOption('system')
    await h.page.waitForFunction(() => document.querySelector('#model-heading')?.textContent === 'Model')
  })

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
