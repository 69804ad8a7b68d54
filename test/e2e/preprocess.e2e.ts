import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { onnx } from 'onnx-proto'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphOf } from '../../src/main/engine/onnx/model-file'
import { maxOf } from '../../src/shared/stats'
import { fixture, tempDir } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * The Preprocessing controls in browser mode (real server, engine and Chromium): the choices reach
 * cam.run, change the results the way the option means, are kept in the workspace, and a model with
 * dynamic height/width gets a validated size.
 *
 * The reference for BGR needs no numbers of ours: a model fed an image in BGR order sees exactly what
 * it sees when fed, in RGB order, the image with its red and blue channels swapped (with [0,1]
 * normalisation, where every channel is scaled alike; resizing works channel by channel).
 */
let h: Harness
const work = tempDir('metascope-pre-e2e-')
const TINY = fixture('models', 'tiny_cnn.onnx')
/** mini_resnet: colour matters to it (tiny_cnn barely tells the channels apart). */
const RESNET = fixture('models', 'mini_resnet.onnx')

interface OkItem {
  ok: true
  file: string
  top5: { index: number; probability: number }[]
  raw: number[]
  width: number
  height: number
}
/** Every job event the page received, by job id. */
const events = new Map<string, { type: string; item?: unknown }[]>()

async function writeImages(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  const { data, info } = await sharp(fixture('images', 'animals', 'chelsea.png')).removeAlpha().resize(64, 48).raw().toBuffer({ resolveWithObject: true })
  const swapped = Buffer.from(data)
  for (let p = 0; p < swapped.length; p += 3) [swapped[p], swapped[p + 2]] = [data[p + 2], data[p]]
  const raw = { width: info.width, height: info.height, channels: 3 as const }
  await sharp(data, { raw }).png().toFile(join(dir, 'orig.png'))
  await sharp(swapped, { raw }).png().toFile(join(dir, 'swapped.png'))
}

/** A copy of tiny_cnn whose input height and width are symbolic (it ends in global pooling, so any size runs). */
function dynamicSizeCopy(dir: string): string {
  const model = onnx.ModelProto.decode(readFileSync(TINY))
  const dims = graphOf(model).input[0].type!.tensorType!.shape!.dim!
  dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'height' })
  dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'width' })
  const path = join(dir, 'tiny_dynamic.onnx')
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

/** Clicks Run and returns what the page sent to cam.run and the items of that job once it is done. */
async function run(): Promise<{ args: Record<string, unknown>; items: Map<string, OkItem> }> {
  const response = h.page.waitForResponse((r) => r.url().includes('/api/cam.run'))
  await h.page.getByTestId('cam-run').click()
  const r = await response
  const args = r.request().postDataJSON() as Record<string, unknown>
  const body = (await r.json()) as { ok: boolean; value: { jobId: string } }
  expect(body.ok).toBe(true)
  const jobId = body.value.jobId
  await expect.poll(() => events.get(jobId)?.some((e) => e.type === 'job.done') ?? false, { timeout: 120_000 }).toBe(true)
  const items = new Map<string, OkItem>()
  for (const e of events.get(jobId)!) {
    if (e.type !== 'job.item') continue
    const item = e.item as OkItem
    expect(item.ok, JSON.stringify(item)).toBe(true)
    items.set(basename(item.file), item)
  }
  return { args, items }
}

async function openModel(path: string): Promise<void> {
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.waitForFunction((name) => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes(name), basename(path))
}

const probs = (i: OkItem) => [...i.top5].sort((a, b) => a.index - b.index).map((p) => p.probability)

function expectClose(a: number[], b: number[], tol: number): void {
  expect(a.length).toBe(b.length)
  const worst = maxOf(a.map((v, k) => Math.abs(v - b[k])))
  expect(worst).toBeLessThan(tol)
}

beforeAll(async () => {
  await writeImages(join(work, 'images'))
  h = await startHarness()
  h.page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const e = JSON.parse(String(f.payload)) as { type: string; jobId?: string; item?: unknown }
      if (e.jobId) events.set(e.jobId, [...(events.get(e.jobId) ?? []), e])
    })
  )
  await h.page.goto(h.url)
  await h.page.getByTestId('backend-ort').waitFor()
})

afterAll(async () => {
  await h?.close()
})

describe('preprocessing controls', () => {
  let rgb: Map<string, OkItem>

  it('say what is assumed and send nothing until a choice is made; a fixed-size model has no size fields', async () => {
    await openModel(RESNET)
    await h.page.getByTestId('images-path-input').fill(join(work, 'images'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="thumb"]').length === 2)
    const pre = h.page.getByTestId('preprocess')
    await pre.waitFor()
    // mini_resnet has no preprocessing metadata: the engine's defaults are ImageNet, stretch, RGB.
    expect(await h.page.getByTestId('pre-normalization').getAttribute('data-chosen')).toBe('')
    expect(await h.page.getByTestId('pre-normalization-status').textContent()).toContain('ImageNet')
    expect(await h.page.getByTestId('pre-channel-order-status').textContent()).toContain('RGB')
    expect(await h.page.getByTestId('pre-width').count()).toBe(0)
    const { args, items } = await run()
    expect(args).not.toHaveProperty('normalization')
    expect(args).not.toHaveProperty('channelOrder')
    expect(args).not.toHaveProperty('resize')
    expect(args).not.toHaveProperty('size')
    expect(items.size).toBe(2)
    await h.screenshot('pre-01-defaults')
  })

  it('sends the chosen normalisation and channel order, and BGR sees the image with red and blue swapped', async () => {
    await h.page.getByTestId('pre-normalization-unit').check()
    const unit = await run()
    expect(unit.args).toMatchObject({ normalization: 'unit' })
    expect(unit.args).not.toHaveProperty('channelOrder')
    rgb = unit.items

    await h.page.getByTestId('pre-channel-order-bgr').check()
    const bgr = await run()
    expect(bgr.args).toMatchObject({ normalization: 'unit', channelOrder: 'bgr' })

    // The option changes what the model sees (the cat is orange, not grey)...
    const diff = maxOf(probs(rgb.get('orig.png')!).map((p, k) => Math.abs(p - probs(bgr.items.get('orig.png')!)[k])))
    expect(diff).toBeGreaterThan(0.01)
    // ...exactly as swapping the channels of the image itself does: predictions and maps.
    for (const [a, b] of [['orig.png', 'swapped.png'], ['swapped.png', 'orig.png']]) {
      expectClose(probs(bgr.items.get(a)!), probs(rgb.get(b)!), 1e-5)
      const ra = bgr.items.get(a)!.raw
      const rb = rgb.get(b)!.raw
      const scale = Math.max(maxOf(rb.map(Math.abs)), 1e-12)
      expectClose(ra.map((v) => v / scale), rb.map((v) => v / scale), 1e-4)
    }
    await h.screenshot('pre-02-bgr')
  })

  it('keeps the choices in the workspace and restores them on reopening', async () => {
    const dir = join(work, 'workspace')
    await h.page.getByTestId('workspace-dir').fill(dir)
    await h.page.getByTestId('workspace-save').click()
    await h.page.getByTestId('workspace-message').waitFor()
    const saved = JSON.parse(readFileSync(join(dir, 'workspace.json'), 'utf8')) as { settings: { preprocess?: Record<string, unknown> } }
    const chosen = Object.entries(saved.settings.preprocess ?? {})
    expect(chosen).toHaveLength(1)
    expect(basename(chosen[0][0])).toBe('mini_resnet.onnx')
    expect(chosen[0][1]).toEqual({ normalization: 'unit', channelOrder: 'bgr' })

    await h.page.reload()
    await h.page.getByTestId('backend-ort').waitFor()
    await h.page.getByTestId('workspace-dir').fill(dir)
    await h.page.getByTestId('workspace-open').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-tab"]').length === 3)
    expect(await h.page.getByTestId('pre-normalization-unit').isChecked()).toBe(true)
    expect(await h.page.getByTestId('pre-channel-order-bgr').isChecked()).toBe(true)
    // The choice cleared: the field leaves the request again.
    await h.page.getByTestId('pre-channel-order-reset').click()
    const { args } = await run()
    expect(args).toMatchObject({ normalization: 'unit' })
    expect(args).not.toHaveProperty('channelOrder')
  })

  it('a dynamic-size model takes a validated width x height, and runs at it', async () => {
    await openModel(dynamicSizeCopy(work))
    const width = h.page.getByTestId('pre-width')
    const height = h.page.getByTestId('pre-height')
    await width.waitFor()
    // Its choices are its own: the other model's normalisation does not carry over.
    expect(await h.page.getByTestId('pre-normalization').getAttribute('data-chosen')).toBe('')
    expect(await width.getAttribute('placeholder')).toBe('224')

    const problem = h.page.getByTestId('pre-size-error')
    await width.fill('48')
    expect(await problem.textContent()).toMatch(/both/)
    await height.fill('4.5')
    expect(await problem.textContent()).toMatch(/whole numbers/)
    await height.fill('9000')
    expect(await problem.textContent()).toMatch(/between 1 and 8192/)
    expect(await height.getAttribute('aria-invalid')).toBe('true')
    // An invalid size runs nothing (no request) and says why.
    let sent = false
    const onRequest = (r: { url(): string }) => (sent ||= r.url().includes('/api/cam.run'))
    h.page.on('request', onRequest)
    await h.page.getByTestId('cam-run').click()
    await h.page.getByTestId('run-panel').getByTestId('error-note').waitFor()
    expect(await h.page.getByTestId('run-panel').getByTestId('error-note').textContent()).toMatch(/Nothing was run/)
    h.page.off('request', onRequest)
    expect(sent).toBe(false)
    await h.screenshot('pre-03-size-invalid')

    await height.fill('40')
    expect(await problem.count()).toBe(0)
    const sized = await run()
    expect(sized.args).toMatchObject({ size: { width: 48, height: 40 } })
    for (const item of sized.items.values()) expect([item.width, item.height]).toEqual([48, 40])

    // Both fields empty: the model's default size (no metadata: 224x224), and no size in the request.
    await width.fill('')
    await height.fill('')
    const plain = await run()
    expect(plain.args).not.toHaveProperty('size')
    for (const item of plain.items.values()) expect([item.width, item.height]).toEqual([224, 224])
    await h.screenshot('pre-04-size')
  })

  it('works in Japanese too: every label is translated', async () => {
    await h.page.getByTestId('pre-normalization').waitFor()
    const en = await h.page.getByTestId('preprocess').textContent()
    await h.page.evaluate(() => localStorage.setItem('metascope.language', 'ja'))
    await h.page.reload()
    await h.page.getByTestId('backend-ort').waitFor()
    await openModel(join(work, 'tiny_dynamic.onnx'))
    const ja = (await h.page.getByTestId('preprocess').textContent()) ?? ''
    expect(ja).toContain('前処理')
    expect(ja).not.toBe(en)
    expect(ja).not.toMatch(/model\.pre\./)
    expect(h.consoleErrors.filter((e) => /i18n|Not found/.test(e))).toEqual([])
  })
})
