import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, ROOT, tempDir } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * Long work is visible (issue #21 item 3), in browser mode: real server, real engine process, real
 * Chromium. What the page shows is recorded by a MutationObserver at every change, so a phase that
 * lasts a few milliseconds on this machine is still seen; nothing is slowed down.
 */
let h: Harness
const work = tempDir('metascope-progress-e2e-')
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const EMPTY_TEXT = 'Open a model, add images, then run a method'

type Snapshot = Record<string, unknown> & { t: number }

/**
 * Records `probe()` (a function's source, run in the page) at every DOM change from now on, with the
 * time since recording began; consecutive equal snapshots are kept once.
 */
async function record(probe: string): Promise<void> {
  // A string, not a function: tsx would wrap named helpers in code the page lacks (see harness.ts).
  await h.page.evaluate(`(() => {
    const probe = ${probe}
    window.__rec = []
    window.__t0 = performance.now()
    const snap = () => {
      const s = probe()
      const last = window.__rec[window.__rec.length - 1]
      const same = last && Object.keys(s).every((k) => JSON.stringify(s[k]) === JSON.stringify(last[k]))
      if (!same) window.__rec.push({ ...s, t: Math.round(performance.now() - window.__t0) })
    }
    if (window.__obs) window.__obs.disconnect()
    window.__obs = new MutationObserver(snap)
    window.__obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true })
    snap()
  })()`)
}

async function recorded<T extends Snapshot>(): Promise<T[]> {
  return h.page.evaluate('window.__rec') as Promise<T[]>
}

/** "(N · status)" of run tab `index`. */
async function waitRun(index: number, status: RegExp): Promise<{ items: number; status: string }> {
  await h.page.waitForFunction(
    ([i, s]) => new RegExp(s as string).test(document.querySelectorAll('[data-testid="run-tab"]')[i as number]?.textContent ?? ''),
    [index, status.source],
    { timeout: 150_000 }
  )
  const m = /\((\d+) · ([^)]+)\)/.exec((await h.page.getByTestId('run-tab').nth(index).textContent()) ?? '')
  return { items: Number(m?.[1] ?? -1), status: m?.[2] ?? '' }
}

async function openModel(path: string): Promise<void> {
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
}

/** The first model.json in the summary's File row once it names `file`. */
async function summaryNames(file: string): Promise<void> {
  await h.page.waitForFunction((f) => document.querySelector('[data-testid="model-summary"] dd')?.textContent?.trim() === f, file, { timeout: 120_000 })
}

/**
 * A MobileNetV2-shaped TensorFlow.js LayersModel at 224x224 (2.3M parameters, 17 inverted-residual
 * blocks), written by TensorFlow.js itself: the size of the published models that took seconds to
 * open. Too large to commit; its weights are tfjs's own initialisation.
 */
async function writeMobileNetLike(dir: string): Promise<string> {
  await tf.setBackend('cpu')
  const input = tf.input({ shape: [224, 224, 3] })
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor
  const convBnRelu = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides = 1) =>
    apply(tf.layers.reLU({ maxValue: 6 }), apply(tf.layers.batchNormalization(), apply(tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false }), x)))
  let x = convBnRelu(input, 32, 3, 2)
  let channels = 32
  for (const [out, stride] of [[16, 1], [24, 2], [24, 1], [32, 2], [32, 1], [32, 1], [64, 2], [64, 1], [64, 1], [64, 1], [96, 1], [96, 1], [96, 1], [160, 2], [160, 1], [160, 1], [320, 1]]) {
    let y = convBnRelu(x, channels * 6, 1)
    y = apply(tf.layers.reLU({ maxValue: 6 }), apply(tf.layers.batchNormalization(), apply(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false }), y)))
    y = apply(tf.layers.batchNormalization(), apply(tf.layers.conv2d({ filters: out, kernelSize: 1, useBias: false }), y))
    x = stride === 1 && out === channels ? apply(tf.layers.add(), [x, y]) : y
    channels = out
  }
  x = apply(tf.layers.dense({ units: 10, activation: 'softmax' }), apply(tf.layers.globalAveragePooling2d({}), convBnRelu(x, 1280, 1)))
  const model = tf.model({ inputs: input, outputs: x })
  mkdirSync(dir, { recursive: true })
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.from(a.weightData as ArrayBuffer))
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }] }))
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    })
  )
  return join(dir, 'model.json')
}

beforeAll(async () => {
  h = await startHarness()
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await h.page.goto(h.url)
})

afterAll(async () => {
  await h?.close()
})

describe('long work is visible', () => {
  it('Score-CAM shows which image and how many of its masks are done, before any map arrives', async () => {
    await h.page.getByTestId('open-demo').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
    await h.page.getByTestId('cam-method').selectOption('scorecam')
    await record(`() => ({
      live: document.querySelector('[data-testid="run-live-text"]')?.textContent ?? null,
      bar: Number(document.querySelector('[data-testid="run-panel"] [data-testid="job-progress"] progress')?.value ?? 0),
      running: document.querySelector('[data-testid="run-panel"] [data-testid="job-progress"]')?.getAttribute('data-status') === 'running',
      items: Number(/\\((\\d+) ·/.exec(document.querySelector('[data-testid="run-tab"]')?.textContent ?? '')?.[1] ?? 0),
      empty: [...document.querySelectorAll('[data-testid="gallery"] .empty')].some((e) => e.offsetParent !== null && e.textContent.includes(${JSON.stringify(EMPTY_TEXT)}))
    })`)
    await h.page.getByTestId('cam-run').click()
    expect(await waitRun(0, /· done\)/)).toEqual({ items: 40, status: 'done' })
    const rec = await recorded<Snapshot & { live: string | null; bar: number; running: boolean; items: number; empty: boolean }>()
    // The bar moved before the first map arrived: within the first image's masked batches.
    const firstMove = rec.find((s) => s.bar > 0)
    expect(firstMove, JSON.stringify(rec.slice(0, 8))).toBeDefined()
    expect(firstMove!.items).toBe(0)
    expect(firstMove!.bar).toBeLessThan(1)
    console.log(`Score-CAM: first progress ${firstMove!.bar.toFixed(3)} / 40 at ${firstMove!.t} ms after the click; run done at ${rec.at(-1)!.t} ms`)
    // Where the cards will appear: the image and its masks (the demo's last conv has 64 channels).
    const lines = rec.flatMap((s) => (s.live ? [s.live] : []))
    expect(lines.some((l) => /^Computing Score-CAM: image 1 of 40 · masks (16|32|48) \/ 64$/.test(l)), lines.slice(0, 5).join(' | ')).toBe(true)
    expect(lines.some((l) => /^Computing Score-CAM: image (2\d|3\d) of 40 · masks \d+ \/ 64$/.test(l))).toBe(true)
    // Never the empty gallery's invitation while the run goes.
    expect(rec.filter((s) => s.running && s.empty)).toEqual([])
    // Done: the line goes, the cards stay.
    await h.page.getByTestId('run-live').waitFor({ state: 'detached' })
    expect(await h.page.getByTestId('heat-card').count()).toBeGreaterThan(0)
  })

  it('saving and reopening a workspace show their phases, with the bytes copied, until done', async () => {
    const dir = join(work, 'workspace')
    await h.page.getByTestId('workspace-dir').fill(dir)
    await record(`() => {
      const p = document.querySelector('[data-testid="workspace-progress"]')
      return {
        busy: document.querySelector('[data-testid="workspace-save"]').disabled,
        phase: p?.getAttribute('data-phase') ?? null,
        done: Number(p?.getAttribute('data-done') ?? 0),
        total: Number(p?.getAttribute('data-total') ?? 0),
        text: document.querySelector('[data-testid="workspace-phase"]')?.textContent.trim() ?? null,
        message: document.querySelector('[data-testid="workspace-message"]')?.textContent ?? null
      }
    }`)
    await h.page.getByTestId('workspace-save').click()
    await h.page.getByTestId('workspace-message').waitFor()
    type Ws = Snapshot & { busy: boolean; phase: string | null; done: number; total: number; text: string | null; message: string | null }
    const saving = await recorded<Ws>()
    // While the save runs (its buttons disabled), the indicator says what it is doing; then the file.
    const busy = saving.filter((s) => s.busy)
    expect(busy.length).toBeGreaterThan(0)
    expect(busy.filter((s) => !s.phase)).toEqual([])
    const phases = [...new Set(saving.flatMap((s) => (s.phase ? [s.phase] : [])))]
    expect(phases.slice(0, 2)).toEqual(['outputs', 'maps'])
    // 40 results, each two float maps: their bytes, counted as they are copied.
    const maps = saving.filter((s) => s.phase === 'maps' && s.total > 0)
    expect(maps.length).toBeGreaterThan(0)
    expect(maps.some((s) => s.done > 0 && /^Copying heatmaps: \d+ KB of \d+ KB/.test(s.text ?? ''))).toBe(true)
    expect(saving.at(-1)).toMatchObject({ busy: false, phase: null, message: join(dir, 'workspace.json') })

    await h.page.reload()
    await h.page.getByTestId('workspace-dir').fill(dir)
    await record(`() => ({
      busy: document.querySelector('[data-testid="workspace-open"]').disabled,
      phase: document.querySelector('[data-testid="workspace-progress"]')?.getAttribute('data-phase') ?? null
    })`)
    await h.page.getByTestId('workspace-open').click()
    await waitRun(0, /· done\)/)
    await h.page.waitForFunction(() => !(document.querySelector('[data-testid="workspace-open"]') as HTMLButtonElement).disabled)
    const opening = await recorded<Ws>()
    expect(opening.filter((s) => s.busy && !s.phase)).toEqual([])
    const openPhases = [...new Set(opening.flatMap((s) => (s.phase ? [s.phase] : [])))]
    expect(openPhases).toEqual(expect.arrayContaining(['reading', 'model', 'images', 'restoring']))
    expect(openPhases.indexOf('model')).toBeLessThan(openPhases.indexOf('restoring'))
  })

  it('a Score-CAM run of 1,280 masks per image: the gallery says where it is, and Cancel still stops it', async () => {
    await h.page.reload()
    await openModel(fixture('models', 'mini_mobilenet_v2.onnx'))
    await summaryNames('mini_mobilenet_v2.onnx')
    await h.page.getByTestId('images-path-input').fill(DEMO_IMAGES)
    await h.page.getByTestId('images-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
    await h.page.getByTestId('cam-method').selectOption('scorecam')
    await h.page.getByTestId('cam-run').click()
    // Mid-run, with the first batch's cards in: the line above them, the bar and the time left.
    await h.page.waitForFunction(() => Number(/\((\d+) · running/.exec(document.querySelector('[data-testid="run-tab"]')?.textContent ?? '')?.[1] ?? 0) >= 8, undefined, { timeout: 120_000 })
    await h.page.waitForFunction(() => /masks \d+ \/ 1280/.test(document.querySelector('[data-testid="run-live-text"]')?.textContent ?? ''))
    expect(await h.page.locator('[data-testid="run-live"] .eta').textContent()).toMatch(/\d+ s left/)
    await h.screenshot('progress-01-scorecam-1440x900')
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('progress-02-scorecam-1280x720')
    expect(await h.page.getByTestId('run-live').count()).toBe(1)
    await h.page.getByTestId('job-cancel').click()
    const cancelled = await waitRun(0, /· cancelled\)/)
    expect(cancelled.items).toBeLessThan(40)
    await h.page.getByTestId('job-cancelled').waitFor()
    expect(await h.page.getByTestId('run-live').count()).toBe(0)
    await h.page.setViewportSize({ width: 1440, height: 900 })
  })

  it('opening a model shows its phases, and the model still open is marked as being replaced', async () => {
    const big = await writeMobileNetLike(join(work, 'mobilenet-like'))
    await h.page.reload()
    await openModel(DEMO_MODEL)
    await summaryNames('fashion_cnn.onnx')
    const probe = `() => ({
      phase: document.querySelector('[data-testid="model-opening"]')?.getAttribute('data-phase') ?? null,
      text: document.querySelector('[data-testid="model-opening-phase"]')?.textContent ?? null,
      replaced: document.querySelector('[data-testid="model-replaced"]')?.textContent ?? null,
      dimmed: document.querySelector('[data-testid="model-summary"]')?.classList.contains('replaced') ?? false,
      file: document.querySelector('[data-testid="model-summary"] dd')?.textContent.trim() ?? null
    })`
    type Opening = Snapshot & { phase: string | null; text: string | null; replaced: string | null; dimmed: boolean; file: string | null }
    for (const [viewport, old] of [[{ width: 1440, height: 900 }, 'fashion_cnn.onnx'], [{ width: 1280, height: 720 }, 'model.json']] as const) {
      await h.page.setViewportSize(viewport)
      await record(probe)
      await openModel(big)
      // onnxruntime's probe of a 224 px network takes seconds here: the panel says so meanwhile.
      await h.page.waitForFunction(() => document.querySelector('[data-testid="model-opening"]')?.getAttribute('data-phase') === 'probing', undefined, { timeout: 60_000 })
      await h.screenshot(`progress-0${viewport.width === 1440 ? 3 : 4}-model-opening-${viewport.width}x${viewport.height}`)
      const stillOpening = (await h.page.getByTestId('model-opening').count()) === 1
      await summaryNames('model.json')
      await h.page.getByTestId('model-opening').waitFor({ state: 'detached' })
      const rec = await recorded<Opening>()
      console.log(`model open at ${viewport.width}x${viewport.height}: ${rec.filter((s) => s.phase).map((s) => `${s.phase}@${s.t}ms`).join(' ')}; screenshot while opening: ${stillOpening}`)
      const phases = [...new Set(rec.flatMap((s) => (s.phase ? [s.phase] : [])))]
      expect(phases).toEqual(['reading', 'converting', 'probing', 'inspecting'])
      expect(rec.find((s) => s.phase === 'converting')?.text).toBe('Converting the graph to ONNX…')
      // The open model stays in use, dimmed and said to be replaced, until the new one is ready.
      const during = rec.filter((s) => s.phase)
      expect(during.every((s) => s.dimmed && s.file === old && s.replaced?.startsWith(`${old} stays open until the new model is ready`))).toBe(true)
      expect(rec.at(-1)).toMatchObject({ phase: null, dimmed: false, file: 'model.json', replaced: null })
      expect(stillOpening).toBe(true)
    }
  })
})
