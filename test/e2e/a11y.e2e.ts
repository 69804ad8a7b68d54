import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWithDemo, type Harness } from './harness'

/**
 * Accessibility (issue #21 item 11): axe-core, the library browsers' own audits build on, runs on every
 * view of the real app (with content: a Grad-CAM run, the detail and compare dialogs, the few-shot
 * board, meta-training, the audit form) in both languages and both themes. No serious or critical
 * violation may remain. Real server, engine and Chromium.
 */
let h: Harness
// Evaluated through the debugging protocol: the app's CSP (script-src 'self') rightly refuses an injected <script>.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: string[] }[]
}

/** axe-core on the page as it is now: the serious and critical violations, one line each. */
async function violations(where: string): Promise<string[]> {
  if (!(await h.page.evaluate(() => 'axe' in window))) await h.page.evaluate(AXE)
  const found = (await h.page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: Violation[] }> } }).axe
    return (await axe.run(document, { resultTypes: ['violations'] })).violations
  })) as Violation[]
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${where}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}${v.nodes.length > 4 ? ` (+${v.nodes.length - 4})` : ''}`)
}

/**
 * Walks the page with Tab as a keyboard user does, then lists the visible, enabled controls the walk
 * never reached and the reached ones with no visible focus ring (outline or box shadow).
 */
async function tabWalk(where: string): Promise<string[]> {
  await h.page.evaluate(() => {
    for (const el of document.querySelectorAll('[data-a11y-seen]')) el.removeAttribute('data-a11y-seen')
    ;(document.activeElement as HTMLElement | null)?.blur()
  })
  const problems: string[] = []
  const seen = new Set<string>()
  for (let i = 0; i < 1500; i++) {
    await h.page.keyboard.press('Tab')
    const at = await h.page.evaluate((n) => {
      const el = document.activeElement as HTMLElement | null
      if (!el || el === document.body) return null
      const key = el.getAttribute('data-a11y-seen') ?? String(n)
      el.setAttribute('data-a11y-seen', key)
      const cs = getComputedStyle(el)
      const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none'
      return { key, ring, what: `${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)}"` }
    }, i)
    if (!at) continue
    if (seen.has(at.key)) break
    seen.add(at.key)
    if (!at.ring) problems.push(`${where}: no visible focus on ${at.what}`)
  }
  const missed = await h.page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')]
      // checkVisibility: what a closed <details> or display:none hides is not on the page.
      .filter((el) => !el.hasAttribute('data-a11y-seen') && !(el as HTMLButtonElement).disabled && el.checkVisibility({ checkVisibilityCSS: true }))
      // A radio group is one Tab stop (arrow keys move within it): reached when any of its radios was.
      .filter((el) => !(el instanceof HTMLInputElement && el.type === 'radio' && document.querySelector(`input[type="radio"][name="${el.name}"][data-a11y-seen]`)))
      .map((el) => `${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)}"`)
  )
  return [...problems, ...missed.map((m) => `${where}: not reachable by Tab: ${m}`)]
}

/** Every view and dialog a user reaches, each left as it was found. */
const VIEWS: [string, () => Promise<void>, (() => Promise<void>)?][] = [
  ['heatmaps', async () => h.page.getByTestId('view-heatmaps').click()],
  [
    'detail',
    async () => {
      await h.page.getByTestId('view-heatmaps').click()
      await h.page.getByTestId('heat-card').first().locator('button.canvas-button').click()
      await h.page.getByTestId('detail-view').waitFor()
    },
    async () => h.page.keyboard.press('Escape')
  ],
  [
    'compare',
    async () => {
      await h.page.getByTestId('view-heatmaps').click()
      await h.page.getByTestId('compare-open').click()
      await h.page.getByTestId('compare-view').waitFor()
    },
    async () => h.page.getByTestId('compare-close').click()
  ],
  ['fewshot', async () => h.page.getByTestId('view-fewshot').click()],
  [
    'meta-training',
    async () => {
      await h.page.getByTestId('view-fewshot').click()
      await h.page.getByTestId('fs-tab-meta').click()
    }
  ],
  ['audit', async () => h.page.getByTestId('view-audit').click()]
]

beforeAll(async () => {
  h = await startWithDemo()
  // Two runs, so the compare dialog has something to compare.
  for (const method of ['gradcam', 'eigencam']) {
    await h.page.getByTestId('cam-method').selectOption(method)
    await h.page.getByTestId('cam-run').click()
    await h.page.getByTestId('heat-card').first().waitFor()
    await h.page.waitForFunction(() => !document.querySelector('[data-testid="job-cancel"]'), undefined, { timeout: 120_000 })
  }
})

afterAll(async () => {
  await h?.close()
})

describe('axe-core finds no serious or critical violation', () => {
  for (const language of ['en', 'ja'] as const) {
    for (const theme of ['light', 'dark'] as const) {
      it(`on every view, ${language}, ${theme} theme`, async () => {
        await h.page.getByTestId('language').selectOption(language)
        await h.page.getByTestId('theme').selectOption(theme)
        const found: string[] = []
        for (const [name, open, close] of VIEWS) {
          await open()
          found.push(...(await violations(`${name} (${language}, ${theme})`)))
          await close?.()
        }
        expect(found).toEqual([])
      }, 120_000)
    }
  }
})

describe('the keyboard reaches every control, and shows where it is', () => {
  it('on every view and dialog (Tab order, visible focus)', async () => {
    await h.page.getByTestId('language').selectOption('en')
    await h.page.getByTestId('theme').selectOption('light')
    const found: string[] = []
    for (const [name, open, close] of VIEWS) {
      await open()
      found.push(...(await tabWalk(name)))
      await close?.()
    }
    expect(found).toEqual([])
  }, 300_000)

  it('the layer list is a listbox the arrow keys move through', async () => {
    await h.page.getByTestId('view-heatmaps').click()
    const list = h.page.getByTestId('layer-list')
    await list.focus()
    const chosen = () => list.locator('[aria-selected="true"]').getAttribute('id')
    expect(await chosen()).toBe('layer-opt-0')
    await h.page.keyboard.press('ArrowDown')
    expect(await chosen()).toBe('layer-opt-1')
    expect(await list.getAttribute('aria-activedescendant')).toBe('layer-opt-1')
    await h.page.keyboard.press('Home')
    expect(await chosen()).toBe('layer-opt-0')
  })
})
