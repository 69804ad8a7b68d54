import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ROOT } from '../helpers'

export const SCREENSHOTS = join(ROOT, 'test', 'output', 'screenshots')

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// Without the background-networking flags Chromium keeps dialling Google on a closed network.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run'
]

export interface Harness {
  url: string
  base: string
  server: ChildProcess
  browser: Browser
  page: Page
  consoleErrors: string[]
  screenshot(name: string): Promise<string>
  /** `<name>-1440x900` and `<name>-1280x720` (the sizes every screen is looked at in), `before` each; the window size is then put back. */
  screenshots(name: string, before?: () => Promise<unknown>): Promise<void>
  close(): Promise<void>
}

/** Starts the real browser-mode server (real engine child process) and a real Chromium page on it. */
export async function startHarness(o: { chromiumPath?: string } = {}): Promise<Harness> {
  const server = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/main/serve.ts', '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60_000)
    const onData = (chunk: Buffer) => {
      log += chunk.toString()
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    server.stdout!.on('data', onData)
    server.stderr!.on('data', (c: Buffer) => (log += c.toString()))
    server.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)))
  })
  // Every way out of here stops the server (and so its engine) it started.
  const stopServer = () =>
    new Promise<void>((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) return resolve()
      server.once('exit', () => resolve())
      server.kill('SIGTERM')
    })
  let browser: Browser
  try {
    browser = await chromium.launch({ executablePath: o.chromiumPath ?? CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  } catch (err) {
    await stopServer()
    const path = o.chromiumPath ?? CHROMIUM
    throw Object.assign(new Error(`Chromium could not start from ${path} (apt-get install chromium, or set CHROMIUM_PATH); the server was stopped. ${(err as Error).message.split('\n')[0]}`), { url })
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const consoleErrors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  page.on('pageerror', (e) => consoleErrors.push(e.message))
  mkdirSync(SCREENSHOTS, { recursive: true })
  const screenshot = async (name: string) => {
    const path = join(SCREENSHOTS, `${name}.png`)
    await page.screenshot({ path, fullPage: true })
    return path
  }
  return {
    url,
    base: url.slice(0, url.indexOf('/?token')),
    server,
    browser,
    page,
    consoleErrors,
    screenshot,
    async screenshots(name, before) {
      const was = page.viewportSize()
      for (const [width, height] of [
        [1440, 900],
        [1280, 720]
      ]) {
        await page.setViewportSize({ width, height })
        await before?.()
        await screenshot(`${name}-${width}x${height}`)
      }
      if (was) await page.setViewportSize(was)
    },
    async close() {
      await browser.close().catch(() => undefined)
      await stopServer()
    }
  }
}

/** The demo's images folder (one sub-folder per class). */
export const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')

/** Copies the first `perClass` demo images of each class into `<dir>/<class>/`: a class-folder tree a user would pick. */
export function copyDemoClasses(dir: string, classes: string[], perClass: number): void {
  for (const c of classes) {
    mkdirSync(join(dir, c), { recursive: true })
    for (const f of readdirSync(join(DEMO_IMAGES, c)).sort().slice(0, perClass)) copyFileSync(join(DEMO_IMAGES, c, f), join(dir, c, f))
  }
}

/** The harness with the app open on the demo model: what most end-to-end files start from. */
export async function startWithDemo(): Promise<Harness> {
  const h = await startHarness()
  await h.page.goto(h.url)
  await h.page.getByTestId('open-demo').click()
  await h.page.getByTestId('model-summary').waitFor()
  return h
}

/** The demo's model file, opened by path (no images added). */
export const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')

/** The harness with one model opened by its path, as a user types it into the model panel; no images yet. */
export async function startWithModel(path: string): Promise<Harness> {
  const h = await startHarness()
  await h.page.goto(h.url)
  await h.page.getByTestId('model-path-input').fill(path)
  await h.page.getByTestId('model-path-submit').click()
  await h.page.getByTestId('model-summary').waitFor()
  return h
}

/** Drops files (name and bytes) onto the element matching `selector`, as a real drag from the desktop would. */
export async function dropFiles(page: Page, selector: string, files: { name: string; bytes: Buffer }[]): Promise<void> {
  await page.evaluate(
    ([sel, list]) => {
      const dt = new DataTransfer()
      for (const f of list as { name: string; b64: string }[]) {
        const bin = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))
        dt.items.add(new File([bin], f.name, { type: f.name.endsWith('.png') ? 'image/png' : 'application/octet-stream' }))
      }
      const target = document.querySelector(sel as string)!
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }))
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    },
    [selector, files.map((f) => ({ name: f.name, b64: f.bytes.toString('base64') }))] as const
  )
}

/** Starts recording frame times (requestAnimationFrame deltas) in the page; stopFrames returns them. */
export async function startFrames(page: Page): Promise<void> {
  // A string, not a function: tsx (esbuild keepNames) would wrap a named callback in a helper the page lacks.
  await page.evaluate(`(() => {
    window.__frames = []
    window.__framesOn = true
    let last = performance.now()
    const tick = (now) => {
      window.__frames.push(now - last)
      last = now
      if (window.__framesOn) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })()`)
}

export async function stopFrames(page: Page): Promise<{ frames: number; longestMs: number; p99Ms: number; over50: number }> {
  return page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __framesOn: boolean }
    w.__framesOn = false
    const f = w.__frames.slice(1).sort((a, b) => a - b)
    return { frames: f.length, longestMs: f.at(-1) ?? 0, p99Ms: f[Math.floor(f.length * 0.99)] ?? 0, over50: f.filter((x) => x > 50).length }
  })
}
