import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, tempDir } from '../helpers'
import { dropFiles, startHarness, type Harness } from './harness'

/**
 * Issue #21 item 1: TensorFlow.js models whose weight shards have no extension, as tfjs-converter
 * names them (`group1-shard1of2`), open in browser mode by "Upload model files…" and by a drop; the
 * manifest, not the extension, says which files travel with model.json; files it still lacks are
 * named, in the words of how they were given. Real server, real engine, real Chromium; the model is
 * the committed small_cnn fixture, its one .bin cut in two extension-less shards at test time.
 */
let h: Harness
const SMALL = fixture('tfjs', 'small_cnn')
const SHARDS = ['group1-shard1of2', 'group1-shard2of2']
const model = tempDir('metascope-shards-e2e-')
const photos = tempDir('metascope-shards-photos-')
const IMAGES = ['cat.jpg', 'coffee.png']

/** model.json and its weights as two extension-less shards, the manifest rewritten to name them. */
function writeModel(dir: string, shards: string[]): string {
  mkdirSync(dir, { recursive: true })
  const bin = readFileSync(join(SMALL, 'group1-shard1of1.bin'))
  const cut = Math.floor(bin.length / 2)
  const parts = [bin.subarray(0, cut), bin.subarray(cut)]
  shards.forEach((name, i) => writeFileSync(join(dir, name), parts[i]))
  const json = JSON.parse(readFileSync(join(SMALL, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] }
  json.weightsManifest[0].paths = SHARDS
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json))
  return join(dir, 'model.json')
}

const panel = () => h.page.getByTestId('model-panel')
const errorText = async () => (await panel().getByTestId('error-note').textContent()) ?? ''

/** The open model's full path once the summary names `name` after another model (`not`) was open. */
async function openedPath(name: string, not = ''): Promise<string> {
  await h.page.waitForFunction(
    ([n, old]) => {
      const dd = document.querySelector('[data-testid="model-summary"] dd')
      return dd?.textContent?.trim() === n && dd.getAttribute('title') !== old
    },
    [name, not] as const,
    { timeout: 120_000 }
  )
  return (await panel().getByTestId('model-summary').locator('dd').first().getAttribute('title')) ?? ''
}

/** Runs Grad-CAM on the library and expects a heatmap for every image. */
async function gradcamGivesHeatmaps(): Promise<void> {
  // Wait for the new run's own tab (the last one) and for every run to end: the previous run's tab stays
  // selected for a moment after the click, and opening a model may have started a prediction run of its own.
  const before = await h.page.getByTestId('run-tab').count()
  await h.page.getByTestId('cam-run').click()
  await h.page.waitForFunction(
    (n) => {
      const tabs = [...document.querySelectorAll('[data-testid="run-tab"]')]
      return tabs.length > n && tabs.every((t) => !/· running\)/.test(t.textContent ?? ''))
    },
    before,
    { timeout: 120_000 }
  )
  expect(await h.page.getByTestId('run-tab').last().textContent()).toMatch(/\(2 · done\)/)
  expect(await h.page.getByTestId('heat-card-failed').count()).toBe(0)
  for (const name of IMAGES) expect(await h.page.locator(`[data-testid="heat-card"][aria-label="${name}"] canvas`).first().isVisible()).toBe(true)
}

async function screens(name: string): Promise<void> {
  await panel().evaluate((e) => e.scrollIntoView())
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await h.screenshot(`${name}-1440x900`)
  await h.page.setViewportSize({ width: 1280, height: 720 })
  await h.screenshot(`${name}-1280x720`)
}

beforeAll(async () => {
  writeModel(model, SHARDS)
  for (const [cls, name] of [['animals', 'cat.jpg'], ['objects', 'coffee.png']]) copyFileSync(fixture('images', cls, name), join(photos, name))
  h = await startHarness()
  await h.page.goto(h.url)
  // The engine may take a while to start on a busy machine.
  await h.page.getByTestId('backend-ort').waitFor({ timeout: 120_000 })
  await h.page.getByTestId('images-path-input').fill(photos)
  await h.page.getByTestId('images-path-submit').click()
  await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('2'))
})

afterAll(async () => {
  await h?.close()
})

describe('tfjs models with extension-less weight shards, browser mode', () => {
  it('"Upload model files…" lets the user pick extension-less shards and opens the model with them', async () => {
    const chooserShown = h.page.waitForEvent('filechooser')
    await panel().getByTestId('model-upload').click()
    const chooser = await chooserShown
    expect(chooser.isMultiple()).toBe(true)
    // No accept filter: a filter of extensions would grey out `group1-shard1of2` in the system dialog.
    expect(await panel().getByTestId('model-file-input').getAttribute('accept')).toBeNull()
    await chooser.setFiles([join(model, 'model.json'), ...SHARDS.map((s) => join(model, s))])
    const path = await openedPath('model.json')
    // The uploaded copy, its shards beside it under their own names, byte for byte.
    expect(path).not.toBe(join(model, 'model.json'))
    for (const s of SHARDS) expect(readFileSync(join(dirname(path), s)).equals(readFileSync(join(model, s)))).toBe(true)
    expect(await panel().getByTestId('model-format').textContent()).toBe('TensorFlow.js layers')
    expect(await panel().getByTestId('error-note').count()).toBe(0)
    await gradcamGivesHeatmaps()
    await screens('tfjs-shards-01-opened')
  })

  it('a drop of model.json with its shards opens it; the .DS_Store, photo and notes dropped with them stay behind', async () => {
    const before = await openedPath('model.json')
    await dropFiles(h.page, '[data-testid="model-panel"]', [
      { name: '.DS_Store', bytes: Buffer.from('junk') },
      { name: SHARDS[1], bytes: readFileSync(join(model, SHARDS[1])) },
      { name: 'model.json', bytes: readFileSync(join(model, 'model.json')) },
      { name: 'cat.png', bytes: readFileSync(fixture('images', 'animals', 'chelsea.png')) },
      { name: 'notes.txt', bytes: Buffer.from('where this model came from') },
      { name: SHARDS[0], bytes: readFileSync(join(model, SHARDS[0])) }
    ])
    const path = await openedPath('model.json', before)
    // Only the model's own files were uploaded, into a folder of their own.
    expect(readdirSync(dirname(path)).sort()).toEqual([...SHARDS, 'model.json'].sort())
    expect(await panel().getByTestId('error-note').count()).toBe(0)
    // The photo went nowhere: the library holds the two images it had.
    expect(await h.page.getByTestId('shown-count').textContent()).toMatch(/\b2\b/)
    await gradcamGivesHeatmaps()
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })

  it('one shard left out: the message names it and says to give it with model.json; the open model stays', async () => {
    const open = await openedPath('model.json')
    await panel().getByTestId('model-file-input').setInputFiles([join(model, 'model.json'), join(model, SHARDS[0])])
    await panel().getByTestId('error-note').waitFor()
    const text = await errorText()
    expect(text).toContain(`model.json lists weight files that were not given: ${SHARDS[1]}.`)
    expect(text).not.toContain(SHARDS[0])
    expect(text).toContain('Upload model files…')
    // A browser cannot put files beside the model: no "copy it next to model.json".
    expect(text).not.toMatch(/copy/i)
    expect(await panel().getByTestId('model-summary').locator('dd').first().getAttribute('title')).toBe(open)
    await screens('tfjs-shards-02-missing')
    await h.page.getByTestId('language').selectOption('ja')
    expect(await errorText()).toMatch(new RegExp(`重みファイルが渡されていません：${SHARDS[1]}。「モデルのファイルをアップロード…」`))
    await h.screenshot('tfjs-shards-03-missing-ja-1280x720')
    await h.page.getByTestId('language').selectOption('en')
  })

  it('a model.json typed as a path whose shards are not beside it: the engine names them all, and copying them is the fix', async () => {
    const dir = join(tempDir('metascope-shards-none-'), 'mobilenet')
    const json = writeModel(dir, [])
    await h.page.getByTestId('model-path-input').fill(json)
    await h.page.getByTestId('model-path-submit').click()
    await h.page.waitForFunction((s) => document.querySelector('[data-testid="model-panel"] [data-testid="error-text"]')?.textContent?.includes(s), SHARDS[0])
    expect(await errorText()).toContain(`${basename(json)} lists weight files that are not in its folder: ${SHARDS.join(', ')}. Copy them next to model.json`)
  })
})
