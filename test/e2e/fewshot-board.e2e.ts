import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers'
import { copyDemoClasses, startWithDemo, type Harness } from './harness'

/**
 * The few-shot board as a user drives it (issue #21 item 9): the shots count applies at once and keeps
 * images placed by hand where they are; removing a class or an image can be undone; a class folder
 * added to the board does not flood the image library. Real server, engine, images and Chromium.
 */
let h: Harness
const CLASSES = ['Bag', 'Coat', 'Sneaker']
const work = tempDir('metascope-fs-board-')

type Counts = { name: string | null; support: number; query: number }[]
const classCounts = (): Promise<Counts> =>
  h.page.$$eval('[data-testid="fs-class"]', (els) => els.map((e) => ({ name: e.getAttribute('data-name'), support: Number(e.getAttribute('data-support')), query: Number(e.getAttribute('data-query')) })))
const shownCount = async () => (await h.page.getByTestId('shown-count').textContent()) ?? ''

beforeAll(async () => {
  copyDemoClasses(work, CLASSES, 4)
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('the few-shot board', () => {
  it('a class folder fills the board, not the image library', async () => {
    await h.page.getByTestId('view-heatmaps').click()
    const before = await shownCount()
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-path-input').fill(work)
    await h.page.getByTestId('fs-path-submit').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 3)
    expect(await classCounts()).toEqual(CLASSES.map((name) => ({ name, support: 2, query: 2 })))
    await h.page.getByTestId('view-heatmaps').click()
    expect(await shownCount()).toBe(before)
    await h.page.getByTestId('view-fewshot').click()
  })

  it('a new shots count applies at once, leaving images moved by hand where they are', async () => {
    // By hand: one of Bag's query images goes up to support.
    const bag = h.page.locator('[data-testid="fs-class"][data-name="Bag"]')
    await bag.getByTestId('fs-query').getByTestId('fs-image').first().getByRole('button').first().click()
    expect((await classCounts())[0]).toEqual({ name: 'Bag', support: 3, query: 1 })
    await h.page.getByTestId('fs-shots').fill('1')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-class"][data-name="Coat"]')?.getAttribute('data-support') === '1')
    // Bag keeps its hand-placed image in support (and only that); the others take 1 each.
    expect(await classCounts()).toEqual([
      { name: 'Bag', support: 1, query: 3 },
      { name: 'Coat', support: 1, query: 3 },
      { name: 'Sneaker', support: 1, query: 3 }
    ])
    await h.page.getByTestId('fs-shots').fill('3')
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-class"][data-name="Coat"]')?.getAttribute('data-support') === '3')
    expect(await classCounts()).toEqual(CLASSES.map((name) => ({ name, support: 3, query: 1 })))
    // "Split again" forgets hand moves: every class by the count.
    await h.page.getByTestId('fs-split').click()
    expect(await classCounts()).toEqual(CLASSES.map((name) => ({ name, support: 3, query: 1 })))
  })

  it('removing a class or an image can be undone', async () => {
    const before = await classCounts()
    await h.page.locator('[data-testid="fs-class"][data-name="Coat"]').getByTestId('fs-remove-class').click()
    expect((await classCounts()).map((c) => c.name)).toEqual(['Bag', 'Sneaker'])
    expect(await h.page.getByTestId('fs-removed').textContent()).toMatch(/Removed class Coat \(4 images\)/)
    await h.page.setViewportSize({ width: 1280, height: 720 })
    await h.screenshot('fewshot-board-undo-1280x720')
    await h.page.setViewportSize({ width: 1440, height: 900 })
    await h.screenshot('fewshot-board-undo-1440x900')
    await h.page.getByTestId('fs-undo').click()
    expect(await classCounts()).toEqual(before)
    expect(await h.page.getByTestId('fs-removed').count()).toBe(0)
    const sneaker = h.page.locator('[data-testid="fs-class"][data-name="Sneaker"]')
    const name = await sneaker.getByTestId('fs-image').first().getAttribute('title')
    await sneaker.getByTestId('fs-image').first().getByRole('button').last().click()
    expect((await classCounts())[2]).toEqual({ name: 'Sneaker', support: 2, query: 1 })
    await h.page.getByTestId('fs-undo').click()
    expect(await classCounts()).toEqual(before)
    expect(await sneaker.getByTestId('fs-image').first().getAttribute('title')).toBe(name)
  })

  it('logged no page errors', () => {
    expect(h.consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([])
  })
})
