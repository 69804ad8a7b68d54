import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { demoClasses, fixture, tempDir } from '../helpers'
import { startWithDemo, type Harness } from './harness'

/**
 * The UI says true things (issue #21 item 5), read as a user reads them, in English and Japanese: real
 * server, engine, Chromium, the demo model and images. ProtoNet trains nothing and says so; the detail
 * view names the run's method and what it reads of the class score; counts of one are singular;
 * "Export…" opens a dialog that writes `<image>.<method slug>.*`; chips and captions show method names,
 * not ids; engine errors read in Japanese.
 */
let h: Harness
const work = tempDir('metascope-true-text-')
const text = async (testid: string) => ((await h.page.getByTestId(testid).first().textContent()) ?? '').replace(/\s+/g, ' ').trim()

async function language(lang: 'en' | 'ja'): Promise<void> {
  await h.page.getByTestId('language').selectOption(lang)
  await h.page.waitForFunction((l) => document.documentElement.lang === l || document.querySelector('[data-testid="language"]')?.getAttribute('data-lang') === l || (document.querySelector('[data-testid="language"]') as HTMLSelectElement | null)?.value === l, lang)
}

/** The element's text in English and in Japanese (then back in English). */
async function bothLanguages(testid: string): Promise<{ en: string; ja: string }> {
  const en = await text(testid)
  await language('ja')
  const ja = await text(testid)
  await language('en')
  return { en, ja }
}

/** Screenshots at 1440x900 and 1280x720 (the app's sizes of record). */
const screens = (name: string) => h.screenshots(name)

/** The same screen in Japanese at 1280x720, where longer labels wrap first. */
async function screenJa(name: string): Promise<void> {
  await language('ja')
  await h.page.setViewportSize({ width: 1280, height: 720 })
  await h.screenshot(`${name}-ja-1280x720`)
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await language('en')
}

async function runMethod(id: string, index: number): Promise<void> {
  await h.page.getByTestId('view-heatmaps').click()
  await h.page.getByTestId('cam-method').selectOption(id)
  await h.page.getByTestId('cam-run').click()
  await h.page.waitForFunction((i) => /· done\)/.test(document.querySelectorAll('[data-testid="run-tab"]')[i]?.textContent ?? ''), index, { timeout: 180_000 })
}

beforeAll(async () => {
  h = await startWithDemo()
  await h.page.setViewportSize({ width: 1440, height: 900 })
  await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
})

afterAll(async () => {
  await h?.close()
})

describe('the UI says true things', () => {
  it('one class is "1 class", in both languages', async () => {
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-folder-input').setInputFiles(demoClasses(['Bag'], 3))
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 1)
    const run = await bothLanguages('fs-run')
    expect(run.en).toBe('Teach 1 class')
    expect(run.ja).toBe('1 クラスを教える')
    expect(await text('fs-what')).toMatch(/for your 1 class;/)
    await h.page.getByTestId('fs-folder-input').setInputFiles(demoClasses(['Trouser', 'Sandal'], 3))
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 3)
    expect(await text('fs-run')).toBe('Teach 3 classes')
  })

  it('ProtoNet says it trains nothing: the classes are the prototypes, no parameter count, no loss chart', async () => {
    await h.page.getByTestId('fs-method').selectOption('protonet')
    const what = await bothLanguages('fs-what')
    expect(what.en).toMatch(/^No training: each class is its prototype, the mean embedding of its support images/)
    expect(what.en).toMatch(/No weight is trained or changed/)
    expect(what.en).not.toMatch(/is trained, for your|Only the last layer/)
    expect(what.ja).toMatch(/学習なし：各クラスはプロトタイプ/)
    expect(what.ja).not.toMatch(/学習するのは最後の層/)
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    await h.page.getByTestId('fs-trained').waitFor()
    const trained = await bothLanguages('fs-trained')
    expect(trained.en).toBe('No training: each query image went to the nearest class prototype (the mean embedding of the class’s support images).')
    expect(trained.ja).toMatch(/^学習なし：各クエリ画像を最も近いクラスのプロトタイプ/)
    expect(await text('fs-accuracy')).not.toMatch(/Trained: \d|parameters/)
    expect(await h.page.getByTestId('fs-loss-chart').count()).toBe(0)
    await h.page.getByTestId('fs-results').scrollIntoViewIfNeeded()
    await screens('true-text-protonet')
    await screenJa('true-text-protonet')
  })

  it('a Grad-CAM++ run is named Grad-CAM++ on its chip and in the detail view, which says what it differentiates', async () => {
    await runMethod('gradcam++', 0)
    const chip = await text('run-tab')
    expect(chip).toMatch(/^1\. Grad-CAM\+\+ · fashion_cnn\.onnx/)
    expect(chip).not.toMatch(/gradcam/)
    expect(await h.page.getByTestId('heat-card').first().locator('canvas').getAttribute('aria-label')).toMatch(/: Grad-CAM\+\+$/)
    await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
    await h.page.getByTestId('detail-view').waitFor()
    const says = await bothLanguages('detail-score-tensor')
    expect(says.en).toBe('Grad-CAM++ differentiates the target class’s score (read from logits) with respect to this layer.')
    expect(says.ja).toBe('Grad-CAM++ は対象クラスのスコア（logits から読む）をこの層について微分します。')
    expect(await h.page.getByTestId('detail-view').locator('figcaption').nth(1).textContent()).toMatch(/Overlay · Grad-CAM\+\+$/)
    await screens('true-text-detail-gradcampp')
    await screenJa('true-text-detail-gradcampp')
    await h.page.getByTestId('detail-close').click()
  })

  it('Eigen-CAM reads no class score, and says so; the compare view names both methods', async () => {
    await runMethod('eigencam', 1)
    await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
    const says = await bothLanguages('detail-score-tensor')
    expect(says.en).toBe('Eigen-CAM uses no class score: the map is the first principal component of the layer’s activations, the same for every class.')
    expect(says.ja).toMatch(/^Eigen-CAM はクラススコアを使いません/)
    await h.page.getByTestId('detail-close').click()
    await h.page.getByTestId('compare-open').click()
    await h.page.getByTestId('compare-a').selectOption({ index: 0 })
    await h.page.getByTestId('compare-b').selectOption({ index: 1 })
    await h.page.getByTestId('compare-caption').first().waitFor()
    const captions = await h.page.getByTestId('compare-row').first().getByTestId('compare-caption').allTextContents()
    expect(captions.map((c) => c.split(' · ')[0])).toEqual(['Grad-CAM++', 'Eigen-CAM'])
    expect(await text('compare-count')).toBe('40 images in both runs')
    await h.page.getByTestId('compare-close').click()
  })

  it('"Export…" opens a dialog that says what it writes and where, and writes <image>.gradcampp.* for Grad-CAM++', async () => {
    await h.page.getByTestId('run-tab').first().click()
    await h.page.getByTestId('export-open').click()
    const dialog = h.page.getByTestId('export-dialog')
    await dialog.waitFor()
    expect(await text('export-what')).toBe('Writes the heatmaps of 40 images of the run Grad-CAM++ · fashion_cnn.onnx:')
    // Browser mode: the folder is a path on the server's computer, and the dialog says so.
    const where = await bothLanguages('export-where')
    expect(where.en).toMatch(/written on the computer that runs the Metascope server/)
    expect(where.ja).toMatch(/Metascope サーバーが動いているコンピューター上/)
    expect(await text('export-run')).toBe('Export 40 heatmaps')
    const out = join(work, 'export')
    await h.page.getByTestId('export-dir').fill(out)
    await screens('true-text-export-dialog')
    await screenJa('true-text-export-dialog')
    await h.page.getByTestId('export-run').click()
    await h.page.getByTestId('export-message').waitFor()
    const files = readdirSync(out)
    expect(files).toContain('0.gradcampp.png')
    expect(files).toContain('0.gradcampp.cam.npy')
    expect(files).toContain('0.gradcampp.raw.npy')
    const perImage = files.filter((f) => !f.startsWith('results.'))
    expect(perImage).toHaveLength(120)
    for (const f of perImage) expect(f).toMatch(/^\d+\.gradcampp\.(png|cam\.npy|raw\.npy)$/)
    expect(files.filter((f) => f.startsWith('results.')).sort()).toEqual(['results.csv', 'results.json'])
    // The CSV's method column is the machine key.
    expect(readFileSync(join(out, 'results.csv'), 'utf8').split('\n')[1]).toContain(',"gradcam++",')
    expect(await h.page.getByTestId('export-file').first().textContent()).toMatch(/^\d+\.gradcampp\.png$/)
    await screens('true-text-export-done')
    await h.page.keyboard.press('Escape')
    expect(await h.page.getByTestId('export-dialog').count()).toBe(0)
  })

  it('engine errors read in Japanese: a file that is not a model, a file that is not an image', async () => {
    const photo = join(work, 'photo.onnx')
    writeFileSync(photo, readFileSync(fixture('images', 'objects', 'coffee.png')))
    await h.page.getByTestId('model-path-input').fill(photo)
    await h.page.getByTestId('model-path-submit').click()
    await h.page.getByTestId('error-text').first().waitFor()
    const model = await bothLanguages('error-text')
    expect(model.en).toMatch(/^photo\.onnx is not an ONNX model: the file is cut short or is something else/)
    expect(model.ja).toMatch(/^photo\.onnx は ONNX モデルではありません。/)
    await h.page.getByTestId('error-note').first().getByRole('button').click()
    const notes = join(work, 'notes.png')
    writeFileSync(notes, 'not a picture\n')
    await h.page.getByTestId('images-path-input').fill(notes)
    await h.page.getByTestId('images-path-submit').click()
    await h.page.getByTestId('image-failure').first().waitFor()
    const image = await bothLanguages('image-failure')
    expect(image.en).toMatch(/^notes\.png is not a readable image: the file is damaged or is not an image/)
    expect(image.ja).toMatch(/^notes\.png は画像として読めません。/)
  })

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
