import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers'
import { startWithDemo, type Harness } from './harness'

/**
 * Errors about one setting read in the UI's own words, in English and Japanese (issue #20): the engine
 * names the field and the rule; the UI phrases them, and no CLI flag ("--inner-rate", "--shard",
 * "--labels") reaches the page. Real server, engine and Chromium.
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')
const work = tempDir('metascope-field-errors-')
const sorted = (dir: string) => readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))

/** The error note's text in English, then (after switching) in Japanese; then back to English. */
async function bothLanguages(): Promise<{ en: string; ja: string }> {
  const note = h.page.getByTestId('error-text').first()
  await note.waitFor()
  const en = (await note.textContent()) ?? ''
  await h.page.getByTestId('language').selectOption('ja')
  const ja = (await note.textContent()) ?? ''
  await h.page.getByTestId('language').selectOption('en')
  return { en, ja }
}

const dismissAll = async () => {
  while (await h.page.getByTestId('error-note').count()) await h.page.getByTestId('error-note').first().getByRole('button').click()
}

beforeAll(async () => {
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('errors about a setting, in the UI\'s words', () => {
  it('a bad inner learning rate', async () => {
    const root = join(work, 'two')
    for (const c of ['Bag', 'Coat']) {
      mkdirSync(join(root, c), { recursive: true })
      for (const f of sorted(join(demoImages, c)).slice(0, 3)) copyFileSync(join(demoImages, c, f), join(root, c, f))
    }
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-folder-input').setInputFiles(root)
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 2)
    await h.page.getByTestId('fs-advanced').click()
    await h.page.getByTestId('fs-rate').fill('-1')
    await h.page.getByTestId('fs-run').click()
    const { en, ja } = await bothLanguages()
    expect(en).toMatch(/The inner learning rate must be a number above 0 and at most 10 \(it is -1\)/)
    expect(ja).toMatch(/内側ループの学習率は 0 より大きく 10 以下の数にしてください（現在 -1）/)
    for (const text of [en, ja]) expect(text).not.toMatch(/--|innerRate/)
    await h.screenshot('field-error-inner-rate')
    await dismissAll()
  })

  it('a bad shard spec, malformed and out of range', async () => {
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-dir').fill(demoImages)
    await h.page.getByTestId('audit-advanced').click()
    await h.page.getByTestId('audit-shard').fill('half')
    await h.page.getByTestId('audit-run').click()
    let { en, ja } = await bothLanguages()
    expect(en).toMatch(/The shard "half" is not valid: write it as K\/N/)
    expect(ja).toMatch(/シャード「half」は無効です/)
    for (const text of [en, ja]) expect(text).not.toMatch(/--/)
    await dismissAll()
    await h.page.getByTestId('audit-shard').fill('5/4')
    await h.page.getByTestId('audit-run').click()
    ;({ en, ja } = await bothLanguages())
    expect(en).toMatch(/The shard "5\/4" is out of range: K must be from 1 to 4/)
    expect(ja).toMatch(/K は 1〜4 にしてください/)
    await h.screenshot('field-error-shard')
    await dismissAll()
    await h.page.getByTestId('audit-shard').fill('')
  })

  it('a missing labels file, then the labels file chosen in the Audit view', async () => {
    await h.page.getByTestId('view-heatmaps').click()
    await h.page.getByTestId('model-path-input').fill(join(ROOT, 'test', 'fixtures', 'models', 'mini_resnet.onnx'))
    await h.page.getByTestId('model-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="model-summary"]')?.textContent?.includes('mini_resnet'))
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-dir').fill(demoImages)
    await h.page.getByTestId('audit-run').click()
    const { en, ja } = await bothLanguages()
    expect(en).toMatch(/mini_resnet\.onnx does not name its classes.*Choose the class of each folder below, or a labels file/)
    expect(ja).toMatch(/mini_resnet\.onnx はクラス名を持たないため.*ラベルファイル/)
    for (const text of [en, ja]) expect(text).not.toMatch(/--labels/)
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('field-error-labels')
    await h.page.setViewportSize({ width: 1280, height: 800 })
    await dismissAll()
    // Browser mode: the labels file is chosen (uploaded) in place, and the audit then starts.
    const labels = join(work, 'classes.txt')
    writeFileSync(labels, sorted(demoImages).join('\n') + '\n')
    if (await h.page.getByTestId('audit-advanced').evaluate((el) => !(el.parentElement as HTMLDetailsElement).open)) await h.page.getByTestId('audit-advanced').click()
    await h.page.getByTestId('audit-labels-upload').setInputFiles(labels)
    await h.page.waitForFunction(() => (document.querySelector('[data-testid="audit-labels"]') as HTMLInputElement)?.value.endsWith('classes.txt'))
    await h.page.getByTestId('audit-run').click()
    await h.page.getByTestId('audit-live').waitFor()
    expect(await h.page.getByTestId('error-note').count()).toBe(0)
    await h.page.getByTestId('job-cancel').first().click().catch(() => undefined)
  })

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
