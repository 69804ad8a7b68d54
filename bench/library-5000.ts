/**
 * A 5,000-image library in the real UI (issue #4 acceptance 2), browser mode in Debian Chromium:
 *   npx tsx bench/library-5000.ts [--images 5000]
 * Makes N small real images (the demo and fixture photos, resized with sharp), adds the folder
 * through the path box, and measures in the page: time from the click to the grid's first painted
 * thumbnail, time until the library lists all N, then scroll frame times while the grid is scrolled
 * top to bottom in steps on every animation frame (p50 / p95 / max frame interval, long frames).
 * Prints one JSON line. Needs `npm run build` first (the served renderer).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { startHarness } from '../test/e2e/harness'

const root = join(__dirname, '..')
const { values } = parseArgs({ options: { images: { type: 'string', default: '5000' } } })
const n = Number(values.images)

async function makeImages(dir: string): Promise<void> {
  const demo = join(root, 'resources', 'demo', 'images')
  const sources = readdirSync(demo).flatMap((c) => readdirSync(join(demo, c)).map((f) => join(demo, c, f)))
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `class${i % 10}`)
    if (i < 10) mkdirSync(sub, { recursive: true })
    await sharp(sources[i % sources.length]).resize(64 + (i % 5) * 16).png().toFile(join(sub, `img${String(i).padStart(5, '0')}.png`))
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'metascope-lib-'))
  await makeImages(dir)
  const h = await startHarness()
  try {
    await h.page.goto(h.url)
    await h.page.getByTestId('backend-ort').waitFor()
    await h.page.getByTestId('images-path-input').fill(dir)
    const t0 = await h.page.evaluate(() => performance.now())
    await h.page.getByTestId('images-path-submit').click()
    // In-page code goes as strings: tsx's name-keeping helpers do not exist inside the page.
    const firstPaint = (await h.page.evaluate(`new Promise((resolve) => {
      const check = () => {
        const img = document.querySelector('[data-testid="thumb"] img')
        if (img && img.complete && img.naturalWidth > 0) requestAnimationFrame(() => resolve(performance.now() - ${t0}))
        else requestAnimationFrame(check)
      }
      check()
    })`)) as number
    await h.page.waitForFunction(`document.querySelector('[data-testid="shown-count"]')?.textContent?.includes('${n} of ${n}')`, undefined, { timeout: 300_000 })
    const listed = (await h.page.evaluate(() => performance.now())) - t0
    const domCells = await h.page.locator('.vgrid-cell').count()
    const frames = (await h.page.evaluate(`new Promise((resolve) => {
      const grid = document.querySelector('[data-testid="thumbs"]')
      const times = []
      let last = performance.now()
      const step = Math.max(200, grid.scrollHeight / 300)
      const tick = () => {
        const now = performance.now()
        times.push(now - last)
        last = now
        grid.scrollTop += step
        if (grid.scrollTop + grid.clientHeight < grid.scrollHeight - 1) requestAnimationFrame(tick)
        else resolve(times.slice(1))
      }
      requestAnimationFrame(tick)
    })`)) as number[]
    const sorted = [...frames].sort((a, b) => a - b)
    const q = (p: number) => +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1)
    console.log(
      JSON.stringify({
        images: n,
        first_thumbnail_paint_ms: Math.round(firstPaint),
        library_listed_ms: Math.round(listed),
        dom_cells_rendered: domCells,
        scroll_frames: frames.length,
        frame_ms_p50: q(0.5),
        frame_ms_p95: q(0.95),
        frame_ms_max: +sorted[sorted.length - 1].toFixed(1),
        frames_over_50ms: frames.filter((f) => f > 50).length
      })
    )
  } finally {
    await h.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

void main()
