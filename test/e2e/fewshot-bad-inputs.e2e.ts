import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { DataType, f32 } from '../../src/main/engine/onnx/tensor-data'
import { ROOT, tempDir } from '../helpers'
import { copyDemoClasses, startWithDemo, type Harness } from './harness'

/**
 * Bad inputs to the Few-shot tab's adaptation (issue #22), each refused with a message that names
 * the model and the problem, in English and Japanese, and the app still usable after it: the board
 * keeps the user's images and a valid run on them finishes. Real server, engine, ONNX models built
 * here with the engine's GraphBuilder, the demo's Fashion-MNIST images and Chromium; no mocks.
 */
let h: Harness
const work = tempDir('metascope-fs-bad-')
const CLASSES = ['Bag', 'Sandal', 'Trouser']
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')

const emptyModel = (name: string) => onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name, node: [], initializer: [], input: [], output: [] } })
const wave = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i))

/**
 * image [B, 1, 28, 28] -> Conv -> ReLU -> GAP -> Flatten `feat` [B, 8] -> ReduceMean over the batch
 * `batch_mean` [1, 8] -> Gemm: the last layer reads a tensor with no batch axis (one row for the
 * whole batch), so the model has no per-image features to adapt on.
 */
function headWithoutBatchAxis(path: string): void {
  const b = new GraphBuilder(emptyModel('nb'), 'nb')
  b.addInput('image', DataType.FLOAT, ['batch', 1, 28, 28])
  b.namedConstant('conv.weight', f32(wave(8 * 9, (i) => Math.sin(i * 1.3) * 0.3), [8, 1, 3, 3]))
  const conv = b.op('Relu', [b.op('Conv', ['image', 'conv.weight'], { pads: [1, 1, 1, 1] })])
  b.node('Flatten', [b.op('GlobalAveragePool', [conv])], { axis: 1 }, ['feat'])
  b.node('ReduceMean', ['feat'], { axes: [0], keepdims: 1 }, ['batch_mean'])
  b.namedConstant('fc.weight', f32(wave(3 * 8, Math.cos), [3, 8]))
  b.namedConstant('fc.bias', f32([0, 0.1, -0.1], [3]))
  b.node('Gemm', ['batch_mean', 'fc.weight', 'fc.bias'], { transB: 1 }, ['scores'])
  b.setOutputs(['scores'])
  writeFileSync(path, b.encode())
}

/** A model of 1x1 "images" with two 1x1-conv blocks (block1, block2), then a linear head. */
function pixelModel(path: string): void {
  const b = new GraphBuilder(emptyModel('px'), 'px')
  b.addInput('input', DataType.FLOAT, ['batch', 3, 1, 1])
  b.namedConstant('block1.weight', f32(wave(8 * 3, Math.sin), [8, 3, 1, 1]))
  b.namedConstant('block1.bias', f32(new Float32Array(8), [8]))
  b.node('Conv', ['input', 'block1.weight', 'block1.bias'], {}, ['conv1'])
  b.node('Relu', ['conv1'], {}, ['relu1'])
  b.namedConstant('block2.weight', f32(wave(8 * 8, (i) => Math.cos(i * 0.7) * 0.5), [8, 8, 1, 1]))
  b.namedConstant('block2.bias', f32(new Float32Array(8), [8]))
  b.node('Conv', ['relu1', 'block2.weight', 'block2.bias'], {}, ['conv2'])
  b.node('Relu', ['conv2'], {}, ['relu2'])
  b.node('Flatten', ['relu2'], { axis: 1 }, ['flat'])
  b.namedConstant('fc.weight', f32(wave(2 * 8, Math.cos), [2, 8]))
  b.namedConstant('fc.bias', f32(new Float32Array(2), [2]))
  b.node('Gemm', ['flat', 'fc.weight', 'fc.bias'], { transB: 1 }, ['logits'])
  b.setOutputs(['logits'])
  writeFileSync(path, b.encode())
}

const NO_BATCH = join(work, 'head_no_batch.onnx')
const PIXEL = join(work, 'pixel.onnx')

async function openModel(path: string, file: string): Promise<void> {
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.waitForFunction((f) => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes(f), file, { timeout: 60_000 })
}

const tabs = () => h.page.$$eval('[data-testid="fs-run-tab"]', (els) => els.map((e) => e.getAttribute('data-status')))
/** Clicks Run and waits for the new run's tab to end; returns its status. */
async function runAndWait(): Promise<string | null> {
  const before = (await tabs()).length
  await h.page.getByTestId('fs-run').click()
  await h.page.waitForFunction(
    (n) => {
      const t = document.querySelectorAll('[data-testid="fs-run-tab"]')
      return t.length === n + 1 && ['done', 'failed'].includes(t[n].getAttribute('data-status') ?? '')
    },
    before,
    { timeout: 120_000 }
  )
  return (await tabs())[before]
}
const liveError = async () => (await h.page.getByTestId('fs-live').getByTestId('error-text').textContent()) ?? ''
/** The active run's error in Japanese (the UI phrases it from the field and the rule), then back to English. */
async function inJapanese(): Promise<string> {
  await h.page.getByTestId('language').selectOption('ja')
  const text = await liveError()
  await h.page.getByTestId('language').selectOption('en')
  return text
}
const boardCounts = () => h.page.$$eval('[data-testid="fs-class"]', (els) => els.map((e) => `${e.getAttribute('data-name')} ${e.getAttribute('data-support')}+${e.getAttribute('data-query')}`))

beforeAll(async () => {
  headWithoutBatchAxis(NO_BATCH)
  pixelModel(PIXEL)
  copyDemoClasses(join(work, 'clothes'), CLASSES, 4)
  h = await startWithDemo()
  await h.page.getByTestId('view-fewshot').click()
  await h.page.getByTestId('fs-path-input').fill(join(work, 'clothes'))
  await h.page.getByTestId('fs-path-submit').click()
  await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 3)
  await h.page.getByTestId('fs-shots').fill('2')
  await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="fs-class"]')].every((e) => e.getAttribute('data-support') === '2'))
})

afterAll(async () => {
  await h?.close()
})

/** Where the Few-shot view's parts are, in the page (a string: tsx would wrap named functions in a helper the page lacks). */
const LAYOUT = `(() => {
  const box = (sel) => { const el = document.querySelector(sel); if (!el) return null; const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, left: r.left, right: r.right } }
  const sc = document.querySelector('.fewshot .fs-scroll')
  const r = sc.getBoundingClientRect()
  return {
    head: box('.fewshot .panel-head'),
    view: { top: r.top + sc.clientTop, bottom: r.top + sc.clientTop + sc.clientHeight, left: r.left, right: r.left + sc.clientWidth },
    tabs: box('.fs-runs'),
    table: box('[data-testid="fs-class-acc"]'),
    planned: box('[data-testid="fs-preprocess"]'),
    picker: box('[data-testid="fs-features"]'),
    used: box('[data-testid="fs-run-preprocess"]'),
    features: box('[data-testid="fs-run-features"]')
  }
})()`
type Box = { top: number; bottom: number; left: number; right: number }
type Layout = Record<'head' | 'view' | 'tabs' | 'table' | 'planned' | 'picker' | 'used' | 'features', Box>
const layout = async () => (await h.page.evaluate(LAYOUT)) as Layout
const scrollView = (to: 'top' | 'bottom') => h.page.evaluate((end) => { const sc = document.querySelector('.fewshot .fs-scroll')!; sc.scrollTop = end === 'top' ? 0 : sc.scrollHeight }, to)

describe('bad inputs to few-shot adaptation in the app', () => {
  it('a model whose last layer reads a tensor without a batch axis: no feature candidate is offered, and Run says why', async () => {
    // The picker offers only the engine's candidates (no free tensor name), so this is the one way
    // a tensor without the batch axis reaches adaptation from the UI: as the head's own input.
    const board = await boardCounts()
    await openModel(NO_BATCH, 'head_no_batch.onnx')
    await h.page.getByTestId('fs-features-summary').click()
    await h.page.getByTestId('fs-features-block').waitFor()
    expect(await h.page.getByTestId('fs-feature-option').count()).toBe(0)
    expect(await h.page.getByTestId('fs-features-block').textContent()).toContain('No candidate features for this model.')
    expect(await runAndWait()).toBe('failed')
    expect(await liveError()).toBe('The last layer of head_no_batch.onnx reads "batch_mean", which has no batch axis (one row for the whole batch, not one per image): the model has no per-image features to adapt on.')
    expect(await inJapanese()).toMatch(/^head_no_batch\.onnx の最終層が読むテンソル「batch_mean」にはバッチ軸がありません/)
    await h.screenshots('fewshot-bad-01-no-batch-axis', () => h.page.getByTestId('fs-live').scrollIntoViewIfNeeded())
    expect(await boardCounts()).toEqual(board)
  })

  it('deeper adaptation: more blocks than the model has, more than any model, and augmenting 1x1 images are refused; without augmentation it runs', async () => {
    const board = await boardCounts()
    await openModel(PIXEL, 'pixel.onnx')
    await h.page.getByTestId('fs-depth').fill('3')
    expect(await runAndWait()).toBe('failed')
    expect(await liveError()).toBe('pixel.onnx has 2 blocks that can be fine-tuned (block1, block2): choose between 1 and 2, not 3.')
    expect(await inJapanese()).toBe('pixel.onnx で微調整できるブロックは 2 個です（block1, block2）。3 ではなく 1 から 2 の間で選んでください。')
    await h.screenshots('fewshot-bad-02-depth', () => h.page.getByTestId('fs-live').scrollIntoViewIfNeeded())

    // Past the setting's own limit the call itself is refused (no run starts): said as that limit, not as the model's blocks.
    const runs = (await tabs()).length
    await h.page.getByTestId('fs-depth').fill('5000')
    await h.page.getByTestId('fs-run').click()
    // The board's error note (above the run's own, which still shows the last failed run).
    const boardError = h.page.getByTestId('fewshot-view').locator('[data-testid="error-note"]:visible').first()
    await boardError.getByText('Fine-tune at most').waitFor()
    expect(await boardError.getByTestId('error-text').textContent()).toBe('Fine-tune at most 1000 blocks, not 5000.')
    // Shown where the user is looking: scrolled into the view's visible area, not left above it.
    const [box, area] = [await boardError.boundingBox(), await h.page.locator('.fs-scroll').first().boundingBox()]
    expect(box!.y).toBeGreaterThanOrEqual(area!.y - 1)
    expect(box!.y + box!.height).toBeLessThanOrEqual(area!.y + area!.height + 1)
    expect((await tabs()).length).toBe(runs)
    await h.screenshots('fewshot-bad-02b-depth-limit')
    await boardError.getByRole('button').click()

    await h.page.getByTestId('fs-depth').fill('1')
    expect(await h.page.getByTestId('fs-augment').isChecked()).toBe(true)
    expect(await runAndWait()).toBe('failed')
    expect(await liveError()).toBe('pixel.onnx takes 1x1 images; augmentation (flip, crop, colour jitter) needs at least 8x8. Adapt without augmentation.')
    expect(await inJapanese()).toBe('pixel.onnx の入力画像は 1x1 です。データ拡張（反転・切り抜き・色の揺らぎ）には少なくとも 8x8 が必要です。データ拡張なしで適応してください。')
    await h.screenshots('fewshot-bad-03-augment', () => h.page.getByTestId('fs-live').scrollIntoViewIfNeeded())
    // What the message says to do works: the same block without augmentation fine-tunes.
    await h.page.getByTestId('fs-augment').uncheck()
    expect(await runAndWait()).toBe('done')
    await h.page.getByTestId('fs-results').waitFor()
    expect(await h.page.getByTestId('fs-trained').textContent()).toMatch(/the blocks block2 and the new head|0 steps were taken/)
    expect(await boardCounts()).toEqual(board)
  })

  it('the demo model then adapts on the same board; the run tabs stay in sight, the results are laid out without gaps or cuts', async () => {
    await openModel(DEMO_MODEL, 'fashion_cnn.onnx')
    await h.page.getByTestId('fs-depth').fill('0')
    expect(await runAndWait()).toBe('done')
    await h.page.getByTestId('fs-method').selectOption('protonet')
    expect(await runAndWait()).toBe('done')
    await h.page.getByTestId('fs-results').waitFor()
    expect(await h.page.getByTestId('fs-acc-after').textContent()).toMatch(/%$/)
    for (const size of [{ width: 1280, height: 720 }, { width: 1440, height: 900 }]) {
      const where = `${size.width}x${size.height}`
      await h.page.setViewportSize(size)
      // No extra gap above either "Features:" line: the form's and the results' lines are spaced as the rest (6 px).
      const l = await layout()
      expect(l.picker.top - l.planned.bottom, `${where} gap above the feature picker`).toBeLessThanOrEqual(8)
      expect(l.features.top - l.used.bottom, `${where} gap above the results' features line`).toBeLessThanOrEqual(8)
      // Scrolled to the end of the results, the run tabs are still in the view, under the panel's header, not behind it.
      await scrollView('bottom')
      const end = await layout()
      expect(end.tabs.top, `${where} run tabs`).toBeGreaterThanOrEqual(end.view.top - 1)
      expect(end.tabs.top).toBeGreaterThanOrEqual(end.head.bottom)
      expect(end.tabs.bottom).toBeLessThanOrEqual(end.view.bottom)
      await h.screenshot(`fewshot-bad-04-end-${where}`)
      // The per-class table scrolled to: all of it in the view, below the tabs.
      await h.page.getByTestId('fs-class-acc').evaluate((el) => el.scrollIntoView({ block: 'start' }))
      const t = await layout()
      expect(t.table.top, `${where} per-class table`).toBeGreaterThanOrEqual(t.tabs.bottom - 1)
      expect(t.table.bottom).toBeLessThanOrEqual(t.view.bottom + 1)
      expect(t.table.left).toBeGreaterThanOrEqual(t.view.left - 1)
      expect(t.table.right).toBeLessThanOrEqual(t.view.right + 1)
      await h.screenshot(`fewshot-bad-05-table-${where}`)
      await scrollView('top')
      await h.screenshot(`fewshot-bad-06-form-${where}`)
    }
    // The only console error is the refused 5000-block call's 400 response.
    expect(h.consoleErrors.filter((e) => !e.includes('status of 400'))).toEqual([])
  })
})
