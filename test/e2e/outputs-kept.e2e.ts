import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { ApiEvent } from '../../src/shared/events'
import { ROOT, tempDir } from '../helpers'
import { startHarness, type Harness } from './harness'

/**
 * Outputs are kept, not recomputed (issue #20): after an audit runs, "Save report" and saving the
 * workspace start no engine job (watched on the server's own event stream, the job log), and the
 * saved audit reopens in the Audit view from the workspace. Real server, engine and Chromium.
 */
let h: Harness
let log: ApiEvent[] = []
let ws: WebSocket
const work = tempDir('metascope-kept-')
const demo = join(ROOT, 'resources', 'demo', 'images')

beforeAll(async () => {
  h = await startHarness()
  await h.page.goto(h.url)
  // A second listener on the job log with the page's session cookie.
  const cookie = (await h.page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
  ws = new WebSocket(`${h.base.replace('http', 'ws')}/api/events`, { headers: { cookie, origin: h.base } })
  ws.on('message', (d) => log.push(JSON.parse(String(d)) as ApiEvent))
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  await h.page.getByTestId('open-demo').click()
  await h.page.getByTestId('model-summary').waitFor()
})

afterAll(async () => {
  ws?.close()
  await h?.close()
})

const jobsIn = (events: ApiEvent[]) => [...new Set(events.flatMap((e) => ('jobId' in e ? [e.jobId] : [])))]

describe('saving keeps what was computed', () => {
  it('an audit, then Save report and Save workspace start no job; the audit reopens from the workspace', async () => {
    const images = join(work, 'images')
    for (const c of ['Bag', 'Coat', 'Dress']) {
      mkdirSync(join(images, c), { recursive: true })
      for (const f of readdirSync(join(demo, c)).sort().slice(0, 2)) copyFileSync(join(demo, c, f), join(images, c, f))
    }
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-dir').fill(images)
    for (const m of ['road', 'sanity', 'where']) await h.page.getByTestId(`audit-metric-${m}`).setChecked(false)
    await h.page.getByTestId('audit-run').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="audit-live"]')?.getAttribute('data-status') === 'done', null, { timeout: 120_000 })
    const headline = await h.page.getByTestId('audit-headline').textContent()
    expect(jobsIn(log)).toHaveLength(1)

    log = []
    await h.page.getByTestId('audit-save-dir').fill(join(work, 'report'))
    await h.page.getByTestId('audit-save').click()
    await h.page.getByTestId('audit-saved').waitFor()
    expect(existsSync(join(work, 'report', 'report.html'))).toBe(true)
    const wsDir = join(work, 'workspace')
    await h.page.getByTestId('view-heatmaps').click()
    await h.page.getByTestId('workspace-dir').fill(wsDir)
    await h.page.getByTestId('workspace-save').click()
    await h.page.waitForFunction(() => /workspace\.json/.test(document.querySelector('[data-testid="workspace-message"]')?.textContent ?? ''))
    await new Promise((r) => setTimeout(r, 300))
    // Nothing but the save's own progress (copying, writing): no job, no computation.
    expect(log.filter((e) => e.type !== 'call.progress')).toEqual([])
    expect(existsSync(join(wsDir, 'audits', 'audit-1', 'audit.json'))).toBe(true)

    await h.page.reload()
    await h.page.getByTestId('workspace-dir').fill(wsDir)
    await h.page.getByTestId('workspace-open').click()
    await h.page.waitForFunction(() => document.querySelector('[data-testid="workspace-message"]')?.textContent?.includes('workspace'))
    await h.page.getByTestId('view-audit').click()
    await h.page.getByTestId('audit-results').waitFor()
    expect(await h.page.getByTestId('audit-headline').textContent()).toBe(headline)
    expect(jobsIn(log)).toEqual([])
    await h.screenshot('audit-reopened-from-workspace')
  })
})
