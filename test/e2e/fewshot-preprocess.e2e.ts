import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, ROOT, tempDir } from '../helpers'
import { startWithDemo, type Harness } from './harness'

/**
 * Few-shot adaptation uses the model panel's preprocessing: the Few-shot view says before a run what
 * it will use (marking what the model does not state), the engine embeds with it, and the run's
 * results say what was used. Real server, engine, Chromium, demo model and images.
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')

beforeAll(async () => {
  h = await startWithDemo()
})
afterAll(async () => {
  await h?.close()
})

const text = async (testid: string) => ((await h.page.getByTestId(testid).first().textContent()) ?? '').replace(/\s+/g, ' ').trim()
const attr = (testid: string, name: string) => h.page.getByTestId(testid).first().getAttribute(name)

describe('few-shot preprocessing', () => {
  it('a normalisation chosen in the model panel shows in the Few-shot view, is sent, and the run reports it; an unstated one is marked as a choice', async () => {
    const root = join(tempDir('metascope-fs-pre-'), 'clothes')
    for (const c of ['Bag', 'Trouser']) {
      mkdirSync(join(root, c), { recursive: true })
      for (const f of readdirSync(join(demoImages, c)).sort().slice(0, 3)) copyFileSync(join(demoImages, c, f), join(root, c, f))
    }
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-folder-input').setInputFiles(root)
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 2)

    // The demo states [0,1] inputs: shown as the model's.
    expect(await attr('fs-preprocess', 'data-normalization-source')).toBe('metadata')
    expect(await text('fs-preprocess-normalization')).toBe('Normalisation: 0…1 (pixel ÷ 255) (stated by the model)')

    await h.page.getByTestId('pre-normalization-imagenet').check()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-preprocess"]')?.getAttribute('data-normalization') === 'imagenet')
    expect(await text('fs-preprocess-normalization')).toBe('Normalisation: ImageNet mean/std (chosen in the model panel)')
    // Everything is stated or chosen: nothing to ask.
    expect(await h.page.getByTestId('fs-preprocess-hint').count()).toBe(0)
    await h.screenshots('fewshot-preprocess-01-planned', () => h.page.getByTestId('fs-preprocess').scrollIntoViewIfNeeded())

    const [request] = await Promise.all([h.page.waitForRequest((r) => r.url().includes('/api/fewshot.adapt')), h.page.getByTestId('fs-run').click()])
    expect(JSON.parse(request.postData() ?? '{}')).toMatchObject({ normalization: 'imagenet' })
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    await h.page.getByTestId('fs-run-preprocess').waitFor()
    expect(await attr('fs-run-preprocess', 'data-normalization')).toBe('imagenet')
    expect(await attr('fs-run-preprocess', 'data-normalization-source')).toBe('chosen')
    expect(await text('fs-run-preprocess')).toMatch(/^Preprocessing used: Normalisation: ImageNet mean\/std \(chosen\) · Resize: Stretch \(stated by the model\) · Input size: 28×28 \(stated by the model\)$/)
    await h.screenshots('fewshot-preprocess-02-used', () => h.page.getByTestId('fs-run-preprocess').scrollIntoViewIfNeeded())

    // A model that states nothing: what is assumed is marked as a choice, with where to change it.
    await h.page.getByTestId('model-path-input').fill(fixture('models', 'tiny_cnn.onnx'))
    await h.page.getByTestId('model-path-submit').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-preprocess"]')?.getAttribute('data-normalization-source') === 'default')
    expect(await text('fs-preprocess-normalization')).toBe('Normalisation: ImageNet mean/std — not stated by the model')
    expect(await text('fs-preprocess-hint')).toBe('Choose what the model does not state in the model panel.')
    expect(await h.page.getByTestId('fs-preprocess-channelOrder').getAttribute('data-source')).toBe('default')
    await h.screenshots('fewshot-preprocess-03-not-stated', () => h.page.getByTestId('fs-preprocess').scrollIntoViewIfNeeded())
    expect(h.consoleErrors).toEqual([])
  }, 120_000)
})
