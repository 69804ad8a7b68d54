import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * Nothing off screen (issue #21 item 4): at 1280x720 and 1440x900, in English and Japanese, on every
 * view and dialog with real content (two Grad-CAM runs of the demo model, a ProtoNet adaptation with
 * its results, the meta-training form, a small audit with its results), every visible control is in
 * the window or in a scroll container it can be scrolled to, no text is laid out one character per
 * line, dialogs fit their content, and after "Open the demo model" the next step, "Run Grad-CAM",
 * is in sight without scrolling. Real server, engine, models and Chromium; one screenshot per view,
 * size and language (viewport-*).
 */
let h: Harness
const demoImages = join(ROOT, 'resources', 'demo', 'images')
const work = tempDir('metascope-viewport-e2e-')
const SIZES = [
  { width: 1280, height: 720 },
  { width: 1440, height: 900 }
] as const
const LANGUAGES = ['en', 'ja'] as const
const sorted = (dir: string) => readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))

/** A folder of class sub-folders, `perClass` images each (demo images, repeated under new names when a class has fewer). */
function classFolder(name: string, classes: string[], perClass: number): string {
  const root = join(work, name)
  for (const c of classes) {
    mkdirSync(join(root, c), { recursive: true })
    const files = sorted(join(demoImages, c))
    for (let i = 0; i < perClass; i++) copyFileSync(join(demoImages, c, files[i % files.length]), join(root, c, `${c.toLowerCase()}-${i}.png`))
  }
  return root
}

/**
 * In the page (a string: tsx would wrap named functions in a helper the page lacks): every visible
 * control (button, input, select, textarea, a[href], [tabindex]) that can be neither seen nor scrolled
 * to, and every text laid out about one character per line. A control is reachable when, walking up
 * its ancestors, each box that clips it either contains it or scrolls (overflow auto/scroll with more
 * content than room) in that direction, and what is left is inside the window.
 */
const LAYOUT_PROBLEMS = `(() => {
  const W = window.innerWidth, H = window.innerHeight
  const what = (el) => el.tagName.toLowerCase() + (el.dataset && el.dataset.testid ? '[' + el.dataset.testid + ']' : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + ((el.getAttribute('aria-label') || el.textContent || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 30)) + '"'
  const problems = []
  const controls = document.querySelectorAll('button, input, select, textarea, a[href], [tabindex]')
  for (const el of controls) {
    if (!el.checkVisibility({ checkVisibilityCSS: true })) continue
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.height === 0) continue
    let x = [r.left, r.right], y = [r.top, r.bottom], bad = null
    // A fixed box (a dialog's backdrop) is placed against the window: boxes above it do not clip it.
    let fixed = getComputedStyle(el).position === 'fixed'
    for (let a = el.parentElement; a && a !== document.documentElement && !bad && !fixed; a = a.parentElement) {
      const cs = getComputedStyle(a)
      fixed = cs.position === 'fixed'
      const ar = a.getBoundingClientRect()
      const axes = [
        ['x', cs.overflowX, a.scrollWidth > a.clientWidth + 1, [ar.left + a.clientLeft, ar.left + a.clientLeft + a.clientWidth]],
        ['y', cs.overflowY, a.scrollHeight > a.clientHeight + 1, [ar.top + a.clientTop, ar.top + a.clientTop + a.clientHeight]]
      ]
      for (const [axis, overflow, more, box] of axes) {
        if (overflow === 'visible') continue
        const range = axis === 'x' ? x : y
        if ((overflow === 'auto' || overflow === 'scroll') && more) {
          // Reachable by scrolling this box: what must be in sight now is the box itself.
          if (axis === 'x') x = box
          else y = box
        } else if (range[0] < box[0] - 1 || range[1] > box[1] + 1) bad = 'cut off (' + axis + ') by ' + what(a)
      }
    }
    if (!bad && (x[0] < -1 || x[1] > W + 1 || y[0] < -1 || y[1] > H + 1)) bad = 'outside the window'
    if (bad) problems.push(what(el) + ' ' + bad + ' at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(','))
  }
  // Text laid out one character per line: a text of a few characters over several lines.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.replace(/\\s+/g, '')
    const oneWord = !/\\S\\s+\\S/.test(n.textContent)
    if (text.length < 2 || !n.parentElement || !n.parentElement.checkVisibility({ checkVisibilityCSS: true })) continue
    if (n.parentElement.closest('option, script, style, svg')) continue
    const range = document.createRange()
    range.selectNodeContents(n)
    const rects = [...range.getClientRects()].filter((q) => q.width > 0)
    const lines = new Set(rects.map((q) => Math.round(q.top))).size
    const widest = Math.max(0, ...rects.map((q) => q.width))
    const em = parseFloat(getComputedStyle(n.parentElement).fontSize)
    // Under 3 characters a line, or one word (a Japanese phrase is one) broken in a column under 4 characters wide ("チェック/ポイン/トファ/イル").
    if (lines >= 2 && (text.length / lines < 3 || (oneWord && widest < 4 * em))) problems.push('text "' + text.slice(0, 20) + '" in ' + lines + ' lines ' + Math.round(widest) + ' px wide (' + what(n.parentElement) + ')')
  }
  // A dialog fits its content: nothing in it scrolls sideways, and its header (title, pickers, Close) is in sight.
  for (const d of document.querySelectorAll('[role="dialog"]')) {
    if (d.scrollWidth > d.clientWidth + 1) problems.push('dialog ' + what(d) + ' is ' + d.scrollWidth + ' px wide in ' + d.clientWidth + ' px')
    const header = d.querySelector('header')
    const dr = d.getBoundingClientRect()
    for (const c of header ? header.querySelectorAll('button, select, input') : []) {
      const r = c.getBoundingClientRect()
      if (r.left < Math.max(0, dr.left) - 1 || r.right > Math.min(W, dr.right) + 1 || r.top < 0 || r.bottom > H) problems.push('dialog header control ' + what(c) + ' is not in sight')
    }
  }
  return problems
})()`

/** The layout problems of the page as it is now, each prefixed with where. */
async function layoutProblems(where: string): Promise<string[]> {
  return ((await h.page.evaluate(LAYOUT_PROBLEMS)) as string[]).map((p) => `${where}: ${p}`)
}

/** Whether "Run Grad-CAM" is in the window and in the sidebar's box, with the sidebar not scrolled. */
async function runButtonInSight(): Promise<{ inSight: boolean; sidebarScroll: number; button: number[]; window: number[] }> {
  return h.page.evaluate(() => {
    const b = document.querySelector('[data-testid="cam-run"]')!.getBoundingClientRect()
    const side = document.querySelector('.sidebar')!
    const s = side.getBoundingClientRect()
    const inSight = b.top >= Math.max(0, s.top) && b.bottom <= Math.min(window.innerHeight, s.top + side.clientHeight) && b.left >= 0 && b.right <= window.innerWidth
    return { inSight, sidebarScroll: side.scrollTop, button: [b.left, b.top, b.right, b.bottom].map(Math.round), window: [window.innerWidth, window.innerHeight] }
  })
}

const settle = () => h.page.waitForTimeout(250)

/** Every view and dialog a user reaches, each opened from the Heatmaps view and left as it was found. */
const VIEWS: [string, () => Promise<void>, (() => Promise<void>)?][] = [
  ['heatmaps', async () => h.page.getByTestId('view-heatmaps').click()],
  [
    'detail',
    async () => {
      await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
      await h.page.getByTestId('detail-view').waitFor()
    },
    async () => h.page.getByTestId('detail-close').click()
  ],
  [
    'compare',
    async () => {
      await h.page.getByTestId('compare-open').click()
      await h.page.getByTestId('compare-b').selectOption({ index: 1 })
      await h.page.getByTestId('compare-row').first().waitFor()
    },
    async () => h.page.getByTestId('compare-close').click()
  ],
  [
    'export',
    async () => {
      await h.page.getByTestId('export-open').click()
      await h.page.locator('.modal.export-dialog').waitFor()
    },
    async () => h.page.keyboard.press('Escape')
  ],
  [
    'fewshot',
    async () => {
      await h.page.getByTestId('view-fewshot').click()
      await h.page.getByTestId('fs-tab-adapt').click()
      await h.page.evaluate(() => document.querySelector('.fewshot .fs-scroll')?.scrollTo(0, 0))
    },
    async () => h.page.getByTestId('view-heatmaps').click()
  ],
  [
    'fewshot-results',
    async () => {
      await h.page.getByTestId('view-fewshot').click()
      await h.page.getByTestId('fs-tab-adapt').click()
      await h.page.getByTestId('fs-results').evaluate((el) => el.scrollIntoView({ block: 'start' }))
    },
    async () => h.page.getByTestId('view-heatmaps').click()
  ],
  [
    'meta-training',
    async () => {
      await h.page.getByTestId('view-fewshot').click()
      await h.page.getByTestId('fs-tab-meta').click()
    },
    async () => {
      await h.page.getByTestId('fs-tab-adapt').click()
      await h.page.getByTestId('view-heatmaps').click()
    }
  ],
  [
    'audit',
    async () => {
      await h.page.getByTestId('view-audit').click()
      await h.page.getByTestId('audit-results').evaluate((el) => el.scrollIntoView({ block: 'start' }))
    },
    async () => h.page.getByTestId('view-heatmaps').click()
  ],
  [
    'audit-plot',
    async () => {
      await h.page.getByTestId('view-audit').click()
      await h.page.getByTestId('open-plot-deletion').click()
      await h.page.getByTestId('plot-modal').waitFor()
    },
    async () => {
      await h.page.getByTestId('plot-modal-close').click()
      await h.page.getByTestId('view-heatmaps').click()
    }
  ],
  [
    'errors',
    async () => {
      // Error notes with their labels ("Problem:", 「問題:」) in the sidebar: a picture given as the model.
      const picture = join(demoImages, 'Bag', sorted(join(demoImages, 'Bag'))[0])
      await h.page.getByTestId('model-path-input').fill(picture)
      await h.page.getByTestId('model-path-submit').click()
      await h.page.getByTestId('model-panel').getByTestId('error-note').waitFor()
      await h.page.getByTestId('model-panel').getByTestId('error-note').scrollIntoViewIfNeeded()
    },
    async () => {
      await h.page.getByTestId('model-panel').getByTestId('error-note').getByRole('button').click()
      await h.page.getByTestId('model-path-input').fill('')
    }
  ]
]

beforeAll(async () => {
  h = await startHarness()
  await h.page.setViewportSize(SIZES[0])
  await h.page.goto(h.url)
  await h.page.getByTestId('open-demo').click()
  await h.page.getByTestId('model-summary').waitFor()
  await h.page.waitForFunction(() => document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('40'))
})

afterAll(async () => {
  await h?.close()
})

describe('nothing off screen', () => {
  it('after "Open the demo model", Run Grad-CAM is in sight without scrolling (both sizes, both languages)', async () => {
    const seen: string[] = []
    for (const language of LANGUAGES) {
      await h.page.getByTestId('language').selectOption(language)
      for (const size of SIZES) {
        await h.page.setViewportSize(size)
        await settle()
        const r = await runButtonInSight()
        expect(r.sidebarScroll).toBe(0)
        if (!r.inSight) seen.push(`${size.width}x${size.height} ${language}: Run Grad-CAM at ${r.button.join(',')} in a ${r.window.join('x')} window`)
        await h.screenshot(`viewport-demo-open-${size.width}x${size.height}-${language}`)
      }
    }
    expect(seen).toEqual([])
    // Every control of the sidebar stays reachable (folded parts open; nothing is dropped).
    await h.page.getByTestId('language').selectOption('en')
    await h.page.setViewportSize(SIZES[0])
    for (const id of ['model-path-input', 'model-upload', 'pre-normalization', 'pre-suggest-run', 'layer-search', 'layer-list', 'workspace-dir', 'workspace-save']) {
      const el = h.page.getByTestId(id).first()
      if (!(await el.isVisible())) await h.page.locator(`details:has([data-testid="${id}"]) > summary`).first().click()
      expect(await el.isVisible(), id).toBe(true)
    }
  })

  it('sets up every view with content: two Grad-CAM runs, a ProtoNet adaptation, a small audit', async () => {
    await h.page.getByTestId('language').selectOption('en')
    await h.page.setViewportSize(SIZES[1])
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="run-tab"]')?.textContent?.includes('done'), undefined, { timeout: 120_000 })
    // The second run on a named layer: its name widens the Compare dialog's run pickers, as real layer names do.
    await h.page.getByTestId('cam-method').selectOption('layercam')
    await h.page.locator('#layer-opt-2').click()
    await h.page.getByTestId('cam-run').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="run-tab"]')[1]?.textContent?.includes('done'), undefined, { timeout: 120_000 })
    await h.page.getByTestId('run-tab').first().click()

    // Few-shot: three demo classes, 12 images each, 2 support: 30 query cards, as a real data set gives.
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-path-input').fill(classFolder('fewshot', ['Bag', 'Sandal', 'Trouser'], 12))
    await h.page.getByTestId('fs-path-submit').click()
    await h.page.waitForFunction(() => document.querySelectorAll('[data-testid="fs-class"]').length === 3, undefined, { timeout: 60_000 })
    await h.page.getByTestId('fs-shots').fill('2')
    await h.page.getByTestId('fs-method').selectOption('protonet')
    await h.page.getByTestId('fs-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="fs-run-tab"]')?.getAttribute('data-status') === 'done', undefined, { timeout: 120_000 })
    await h.page.getByTestId('fs-results').waitFor()
    expect(await h.page.getByTestId('fs-card').count()).toBe(30)

    // Audit: 2 classes x 2 images, one method, two metrics.
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-dir').fill(classFolder('audit', ['Bag', 'Sandal'], 2))
    for (const m of await h.page.locator('[data-testid^="audit-method-"]').all()) await m.setChecked((await m.getAttribute('data-testid')) === 'audit-method-gradcam')
    for (const m of await h.page.locator('[data-testid^="audit-metric-"]').all()) await m.setChecked(['audit-metric-deletion', 'audit-metric-calibration'].includes((await m.getAttribute('data-testid')) ?? ''))
    await h.page.getByTestId('audit-advanced').click()
    await h.page.getByTestId('audit-out').fill(join(work, 'audit-out'))
    await h.page.getByTestId('audit-advanced').click()
    await h.page.getByTestId('audit-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="audit-live"]')?.getAttribute('data-status') === 'done', undefined, { timeout: 180_000 })
    await h.page.getByTestId('audit-results').waitFor()
    await h.page.getByTestId('view-heatmaps').click()
  }, 400_000)

  for (const size of SIZES) {
    for (const language of LANGUAGES) {
      it(`every control of every view and dialog can be reached, and no text stacks: ${size.width}x${size.height}, ${language}`, async () => {
        await h.page.setViewportSize(size)
        await h.page.getByTestId('language').selectOption(language)
        const found: string[] = []
        for (const [name, open, close] of VIEWS) {
          await open()
          await settle()
          found.push(...(await layoutProblems(`${name} ${size.width}x${size.height} ${language}`)))
          await h.screenshot(`viewport-${size.width}x${size.height}-${language}-${name}`)
          await close?.()
        }
        expect(found).toEqual([])
      }, 180_000)
    }
  }

  it('the Few-shot tab keeps a usable library and compact results: Save model before the query cards', async () => {
    await h.page.getByTestId('language').selectOption('en')
    for (const size of SIZES) {
      await h.page.setViewportSize(size)
      await h.page.getByTestId('view-fewshot').click()
      await settle()
      const lib = await h.page.evaluate(() => {
        const grid = document.querySelector('[data-testid="thumbs"]')
        const collapsed = document.querySelector('[data-testid="image-panel"]')?.getAttribute('data-collapsed') === 'true'
        return { collapsed, gridHeight: grid ? grid.clientHeight : 0 }
      })
      // A row of thumbnails (140 px cells) in full, or the library folded on purpose with its toggle in sight.
      if (lib.collapsed) expect(await h.page.getByTestId('library-toggle').isVisible()).toBe(true)
      else expect(lib.gridHeight, `${size.width}x${size.height} library grid`).toBeGreaterThanOrEqual(140)
      const order = await h.page.evaluate(() => {
        const top = (sel: string) => document.querySelector(sel)?.getBoundingClientRect().top ?? NaN
        const cards = document.querySelector('[data-testid="fs-cards"]')!
        return { save: top('[data-testid="fs-save-model"]'), summary: top('[data-testid="fs-accuracy"]'), cards: top('[data-testid="fs-cards"]'), cardsHeight: cards.getBoundingClientRect().height }
      })
      expect(order.save).toBeLessThan(order.cards)
      expect(order.summary).toBeLessThan(order.cards)
      // 30 query cards take at most half the window: paged or in their own scroll area.
      expect(order.cardsHeight).toBeLessThanOrEqual(size.height / 2)
    }
    // On a short window the library folds to its header on request, and the board gets its height.
    await h.page.setViewportSize(SIZES[0])
    await settle()
    const boardHeight = () => h.page.evaluate(() => document.querySelector('.fewshot .fs-scroll')!.clientHeight)
    const open = await boardHeight()
    await h.page.getByTestId('library-toggle').click()
    expect(await h.page.getByTestId('image-panel').getAttribute('data-collapsed')).toBe('true')
    expect(await h.page.getByTestId('thumbs').isVisible()).toBe(false)
    expect(await boardHeight()).toBeGreaterThan(open + 150)
    expect(await layoutProblems('fewshot, library folded')).toEqual([])
    await h.page.evaluate(() => document.querySelector('.fewshot .fs-scroll')?.scrollTo(0, 0))
    await h.screenshot('viewport-1280x720-en-fewshot-library-folded')
    await h.page.getByTestId('library-toggle').click()
    expect(await h.page.getByTestId('thumbs').isVisible()).toBe(true)
    await h.page.getByTestId('view-heatmaps').click()
  })
})
