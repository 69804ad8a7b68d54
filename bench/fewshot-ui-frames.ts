/**
 * UI responsiveness while the engine trains (issue #8 acceptance 3), browser mode in Debian Chromium:
 *   npx tsx bench/fewshot-ui-frames.ts [--iterations 30]
 * Opens the Few-shot view, meta-trains Proto-MAML on the built-in Fashion-MNIST (5-way 1-shot, classes
 * 0-4 / 5-9) with the live charts on screen, and records every animation frame in the page meanwhile.
 * The engine runs in its own process, so the page should keep its frame rate. Prints one JSON line:
 * frames, longest frame, p50 / p99, frames over 50 ms, items streamed, seconds. Needs `npm run build`.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startFrames, startHarness, stopFrames } from '../test/e2e/harness'

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '30' } } })

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'metascope-frames-'))
  const h = await startHarness()
  try {
    await h.page.goto(h.url)
    await h.page.getByTestId('backend-ort').waitFor()
    await h.page.getByTestId('workspace-dir').fill(work)
    await h.page.getByTestId('workspace-save').click()
    await h.page.getByTestId('workspace-message').waitFor()
    await h.page.getByTestId('view-fewshot').click()
    await h.page.getByTestId('fs-tab-meta').click()
    await h.page.getByTestId('fm-iterations').fill(values.iterations!)
    await startFrames(h.page)
    const t0 = Date.now()
    await h.page.getByTestId('fm-start').click()
    await h.page.waitForFunction(() => ['done', 'failed', 'cancelled'].includes(document.querySelector('[data-testid="fm-live"]')?.getAttribute('data-status') ?? ''), null, { timeout: 1_800_000 })
    const frames = await stopFrames(h.page)
    const items = Number(await h.page.getByTestId('fm-live').getAttribute('data-items'))
    const status = await h.page.getByTestId('fm-live').getAttribute('data-status')
    console.log(JSON.stringify({ bench: 'fewshot-ui-frames', status, iterations: Number(values.iterations), items, seconds: (Date.now() - t0) / 1000, ...frames }))
  } finally {
    await h.close()
  }
}

void main()
