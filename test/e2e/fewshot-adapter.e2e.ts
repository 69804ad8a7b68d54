import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers'
import { copyDemoClasses, startWithDemo, type Harness } from './harness'

/**
 * The feature adapter in the Few-shot view (issue #22 item 5): learnt from a labelled folder as a job
 * whose query loss is drawn as it runs, then ticked for the next adaptation, whose results say they
 * went through it; a file that is not an adapter and a folder of one class are refused in words that
 * name them, and the app keeps working. Real server, engine, demo model and images, Chromium.
 * Screenshots under test/output/screenshots (fewshot-adapter-*).
 */
let h: Harness
const work = tempDir('metascope-fs-adapter-')
/** The few-shot demo model's own classes (0-4): the adapter is meta-trained on them, then used on the demo board's 5 others. */
const TRAIN_CLASSES = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat']
const ITERATIONS = 6
const text = async (testid: string) => (await h.page.getByTestId(testid).first().textContent())?.replace(/\s+/g, ' ').trim() ?? ''
const attr = (testid: string, name: string) => h.page.getByTestId(testid).first().getAttribute(name)
const statusIs = (testid: string, status: string) =>
  h.page.waitForFunction(([id, s]) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-status') === s, [testid, status] as const, { timeout: 180_000 })

beforeAll(async () => {
  copyDemoClasses(join(work, 'classes'), TRAIN_CLASSES, 4)
  copyDemoClasses(join(work, 'one-class'), ['Bag'], 4)
  writeFileSync(join(work, 'notes.json'), 'weights {')
  h = await startWithDemo()
  await h.page.getByTestId('view-fewshot').click()
  await h.page.getByTestId('fs-try-demo').click()
  await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 5, null, { timeout: 60_000 })
})

afterAll(async () => {
  await h?.close()
})

describe('few-shot: a meta-trained feature adapter', () => {
  it('learns an adapter with a live loss chart, then adapts through it and the results say so', async () => {
    await h.page.getByTestId('fs-adapter-summary').click()
    expect(await text('fs-adapter-summary')).toBe('Feature adapter: none')
    // The form starts at the schema's defaults.
    expect(await h.page.getByTestId('fa-iterations').inputValue()).toBe('200')
    expect(await h.page.getByTestId('fa-ways').inputValue()).toBe('5')
    expect(await h.page.getByTestId('fa-shots').inputValue()).toBe('5')
    expect(await h.page.getByTestId('fa-queries').inputValue()).toBe('15')
    expect(await text('fa-features')).toBe('Learns on the features /Flatten_output_0 (the Features choice above), with the model panel’s preprocessing.')

    const out = join(work, 'adapter.json')
    await h.page.getByTestId('fa-folder').fill(join(work, 'classes'))
    await h.page.getByTestId('fa-out').fill(out)
    await h.page.getByTestId('fa-iterations').fill(String(ITERATIONS))
    await h.page.getByTestId('fa-shots').fill('1')
    await h.page.getByTestId('fa-queries').fill('3')
    await h.page.getByTestId('fa-learn').click()
    await statusIs('fa-live', 'done')

    expect(await attr('fa-live', 'data-items')).toBe(String(ITERATIONS))
    expect(await attr('fa-loss-chart', 'data-points')).toBe(String(ITERATIONS))
    expect(await attr('fa-acc-chart', 'data-points')).toBe(String(ITERATIONS))
    expect(existsSync(out)).toBe(true)
    expect(await attr('fa-result', 'data-tensor')).toBe('/Flatten_output_0')
    expect(await text('fa-result')).toMatch(
      new RegExp(`^Wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: features /Flatten_output_0 \\(64 → 64 values\\), ${ITERATIONS} iterations on 5 classes \\(20 images\\)\\. Query loss \\d+\\.\\d{3} → \\d+\\.\\d{3}, accuracy`)
    )
    await h.screenshots('fewshot-adapter-01-learnt', () => h.page.getByTestId('fa-result').scrollIntoViewIfNeeded())

    // Nothing is used until asked: the next run is still plain.
    expect(await h.page.getByTestId('fs-adapter-use').isChecked()).toBe(false)
    await h.page.getByTestId('fa-use-learnt').click()
    expect(await h.page.getByTestId('fs-adapter-use').isChecked()).toBe(true)
    expect(await h.page.getByTestId('fs-adapter-path').inputValue()).toBe(out)
    // Read from the file itself: the tensor it was trained on, and how it fits this run's features.
    await h.page.getByTestId('fs-adapter-info').waitFor()
    expect(await attr('fs-adapter-info', 'data-tensor')).toBe('/Flatten_output_0')
    expect(await text('fs-adapter-info')).toBe(`Trained on the features /Flatten_output_0 (64 → 64 values) of fashion_cnn_0to4.onnx: ${ITERATIONS} iterations on 5 classes of the folder classes.`)
    expect(await attr('fs-adapter-fit', 'data-fit')).toBe('same')
    expect(await text('fs-adapter-summary')).toBe('Feature adapter: adapter.json /Flatten_output_0')
    expect(await text('fa-in-use')).toBe('In use for the next adaptation.')
    await h.screenshots('fewshot-adapter-02-in-use', () => h.page.getByTestId('fs-adapter-summary').evaluate((e) => e.scrollIntoView({ block: 'start' })))

    await h.page.getByTestId('fs-run').click()
    await statusIs('fs-live', 'done')
    await h.page.getByTestId('fs-run-adapter').waitFor()
    expect(await attr('fs-run-adapter', 'data-file')).toBe('adapter.json')
    expect(await text('fs-run-adapter')).toBe(
      `Adapted through the adapter adapter.json: features /Flatten_output_0 (64 → 64 values), learnt for fashion_cnn_0to4.onnx in ${ITERATIONS} iterations on 5 classes of the folder classes.`
    )
    await h.screenshots('fewshot-adapter-03-adapted', () => h.page.getByTestId('fs-run-adapter').scrollIntoViewIfNeeded())
  }, 400_000)

  it('a file that is not an adapter and a folder of one class are refused by name; the app keeps working', async () => {
    const notes = join(work, 'notes.json')
    await h.page.getByTestId('fs-adapter-path').fill(notes)
    const said = `${notes} is not an adapter file: it is not JSON. Choose a file written by “Learn an adapter”.`
    // Read as soon as typing pauses: the panel says what is wrong before any run.
    await h.page.getByTestId('fs-adapter-file-error').waitFor()
    expect(await h.page.locator('[data-testid="fs-adapter-file-error"] [data-testid="error-text"]').textContent()).toBe(said)
    expect(await h.page.getByTestId('fs-adapter-info').count()).toBe(0)
    // The run with it is refused by the engine, in the same words.
    const runs = await h.page.getByTestId('fs-run-tab').count()
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction((n) => document.querySelectorAll('[data-testid="fs-run-tab"]').length === n + 1, runs)
    await statusIs('fs-live', 'failed')
    expect(await h.page.locator('[data-testid="fs-live"] [data-testid="error-text"]').textContent()).toBe(said)
    await h.screenshots('fewshot-adapter-04-not-json', () => h.page.getByTestId('fs-live').scrollIntoViewIfNeeded())

    // Untick it: the next run adapts without an adapter, and says none.
    await h.page.getByTestId('fs-adapter-use').uncheck()
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction((n) => document.querySelectorAll('[data-testid="fs-run-tab"]').length === n + 2, runs)
    await statusIs('fs-live', 'done')
    await h.page.getByTestId('fs-results').waitFor()
    expect(await h.page.getByTestId('fs-run-adapter').count()).toBe(0)
    expect(await text('fs-adapter-summary')).toBe('Feature adapter: none')

    // A folder of one class: refused before any job, naming the folder; the learnt run stays on show.
    const one = join(work, 'one-class')
    await h.page.getByTestId('fa-folder').fill(one)
    await h.page.getByTestId('fa-learn').click()
    const note = h.page.locator('[data-testid="fa-call-error"] [data-testid="error-text"]')
    await note.waitFor()
    expect(await note.textContent()).toBe(`The dataset folder ${one} has only one class sub-folder (Bag); few-shot needs at least 2 classes, one sub-folder each.`)
    expect(await attr('fa-live', 'data-status')).toBe('done')
    expect(await h.page.getByTestId('fa-learn').isEnabled()).toBe(true)
    await h.screenshots('fewshot-adapter-05-one-class', () => note.scrollIntoViewIfNeeded())
    // Refused calls show as failed requests in the console; nothing else went wrong.
    expect(h.consoleErrors.filter((e) => !e.includes('status of 400'))).toEqual([])
  }, 400_000)
})
