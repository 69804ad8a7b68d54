import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers'
import { DEMO_IMAGES, startHarness, type Harness } from './harness'

/**
 * Issue #22 item 7 in the app (browser mode: real server, engine, Chromium): a Conv-4 meta-trained in
 * the Meta-train tab opens as the current model and Grad-CAM runs on it; head-only adaptation draws
 * its loss while the steps run. Screenshots under test/output/screenshots (fewshot-live-*).
 */
let h: Harness
const work = tempDir('metascope-fs-live-')
/** Every engine event the page's WebSocket received, in order (the page's own view of the stream). */
const received: { type: string; kind?: string; jobId?: string; phase?: string }[] = []
const STEPS = 300
const text = async (testid: string) => (await h.page.getByTestId(testid).first().textContent())?.trim() ?? ''

beforeAll(async () => {
  h = await startHarness()
  h.page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(JSON.parse(String(f.payload)))))
  await h.page.goto(h.url)
  await h.page.getByTestId('open-demo').click()
  await h.page.getByTestId('model-summary').waitFor()
})

afterAll(async () => {
  await h?.close()
})

describe('few-shot: a meta-trained model to open, a live loss curve', () => {
  it('meta-trains a tiny Conv-4 without writing a model; "Open" writes it from the checkpoint, opens it, and Grad-CAM shows heatmaps', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-tab-meta').click()
    await h.page.getByTestId('fm-dataset').selectOption('folder')
    await h.page.getByTestId('fm-dir').fill(DEMO_IMAGES)
    // The BatchNorm convention: the method's own by default, running statistics only without inner steps.
    await h.page.getByTestId('fm-method').selectOption('maml')
    expect(await h.page.locator('[data-testid="fm-bn"] option[value="running"]').isDisabled()).toBe(true)
    await h.page.getByTestId('fm-method').selectOption('protonet')
    expect(await h.page.locator('[data-testid="fm-bn"] option[value=""]').textContent()).toBe('as the method’s authors ran it (running statistics at test time)')
    expect(await h.page.locator('[data-testid="fm-bn"] option[value="running"]').isDisabled()).toBe(false)
    await h.page.getByTestId('fm-iterations').fill('3')
    await h.page.getByTestId('fm-checkpoint').fill(join(work, 'tiny.ckpt'))
    await h.page.getByTestId('fm-write-model').uncheck()
    expect(await h.page.getByTestId('fm-model-out').count()).toBe(0)
    await h.page.locator('.fs-meta details summary').click()
    await h.page.getByTestId('fm-ways').fill('2')
    await h.page.getByTestId('fm-queries').fill('1')
    await h.page.getByTestId('fm-eval').fill('0')
    await h.page.getByTestId('fm-start').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fm-live"]')?.getAttribute('data-status') === 'done', null, { timeout: 180_000 })
    expect(await h.page.getByTestId('fm-live').getAttribute('data-items')).toBe('3')

    // No model was written: the panel says so and what opening will do, rather than hide the button.
    const conv4 = join(work, 'tiny.onnx')
    expect(await h.page.getByTestId('fm-model').getAttribute('data-written')).toBe('')
    expect(await text('fm-no-model')).toBe(`This run wrote no model file. Opening it writes ${conv4} from the checkpoint first (no iteration is repeated).`)
    expect(await text('fm-open-model')).toBe('Write tiny.onnx and open it')
    await h.screenshots('fewshot-live-01-no-model', () => h.page.getByTestId('fm-open-model').scrollIntoViewIfNeeded())
    await h.page.getByTestId('fm-open-model').click()

    await h.page.waitForFunction(() => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes('tiny.onnx'), null, { timeout: 120_000 })
    expect(existsSync(conv4)).toBe(true)
    // The writing run resumed at iteration 3: no iteration repeated, the chart still shows the 3 from the checkpoint.
    expect(await h.page.getByTestId('fm-model').getAttribute('data-written')).toBe(conv4)
    expect(await h.page.getByTestId('fm-live').getAttribute('data-items')).toBe('3')
    expect(await text('fm-open-model')).toBe('Open as current model')
    // A meta-trained head has no class names: said, not assumed.
    expect(await text('fm-opened')).toBe(
      'Opened tiny.onnx as the current model: run Grad-CAM on the library images from the run panel. It has no class names: a meta-trained head’s outputs stand for the classes of whatever episode it is given (fine-tune: its meta-training classes), so they are shown by number.'
    )
    await h.screenshots('fewshot-live-02-opened', () => h.page.getByTestId('fm-opened').scrollIntoViewIfNeeded())

    await h.page.getByTestId('view-heatmaps').click()
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="run-tab"]')].some((t) => t.textContent?.includes('tiny.onnx') && t.textContent.includes('(40 · done)')),
      null,
      { timeout: 180_000 }
    )
    const card = h.page.getByTestId('heat-card').first()
    await card.waitFor()
    // Classes by number: the prediction names output 0 or 1.
    const labels = await card.locator('[data-testid="predictions"] li span:first-child').allTextContents()
    expect(labels.sort()).toEqual(['0', '1'])
    // A drawn heatmap: the canvas holds more than one colour.
    const colours = await h.page.$eval('[data-testid="heat-card"] canvas', (c) => {
      const canvas = c as HTMLCanvasElement
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
      const seen = new Set<string>()
      for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`)
      return seen.size
    })
    expect(colours).toBeGreaterThan(1)
    await h.screenshots('fewshot-live-03-gradcam')
  }, 400_000)

  it('head-only adaptation draws its loss as the steps run: the items come before the adaptation stage ends', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-tab-adapt').click()
    await h.page.getByTestId('fs-try-demo').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 5, null, { timeout: 60_000 })
    await h.page.getByTestId('fs-advanced').click()
    await h.page.getByTestId('fs-steps').fill(String(STEPS))
    // Every change of the run's item count and status, as the page rendered it.
    await h.page.evaluate(() => {
      const seen: { status: string | null; items: number; points: number }[] = []
      ;(window as unknown as { __live: typeof seen }).__live = seen
      const record = () => {
        const live = document.querySelector('[data-testid="fs-live"]')
        if (live) seen.push({ status: live.getAttribute('data-status'), items: Number(live.getAttribute('data-items')), points: Number(live.querySelector('[data-testid="fs-loss-chart"]')?.getAttribute('data-points') ?? 0) })
      }
      new MutationObserver(record).observe(document.querySelector('[data-testid="fewshot-view"]')!, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-items', 'data-status'] })
    })
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-live"]')?.getAttribute('data-status') === 'done', null, { timeout: 180_000 })

    // The stream as the page received it: every step's loss arrived before the engine reported the adaptation stage (they used to follow the whole run).
    const job = received.filter((e) => e.kind === 'fewshot.adapt')
    const adaptation = job.findIndex((e) => e.type === 'job.progress' && e.phase === 'adaptation')
    const items = job.flatMap((e, i) => (e.type === 'job.item' ? [i] : []))
    expect(items).toHaveLength(STEPS)
    expect(adaptation).toBeGreaterThan(items.at(-1)!)
    // The chart drew them while the run was still going, and ends with one point per step.
    const seen = await h.page.evaluate(() => (window as unknown as { __live: { status: string | null; items: number; points: number }[] }).__live)
    const during = seen.filter((s) => s.status === 'running' && s.points > 0)
    expect(during.length).toBeGreaterThan(1)
    expect(Number(await h.page.getByTestId('fs-loss-chart').getAttribute('data-points'))).toBe(STEPS)
    expect(await h.page.locator('[data-testid="fs-live"] .note').last().textContent()).toContain('its loss is drawn as the steps run')
    console.log(`head-only adaptation, ${STEPS} steps: ${during.length} renders of the running chart with points (counts ${[...new Set(during.map((s) => s.points))].slice(0, 12).join(', ')}, ...)`)
    await h.screenshots('fewshot-live-04-adapted', () => h.page.getByTestId('fs-loss-chart').scrollIntoViewIfNeeded())
  }, 300_000)

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
