import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ROOT } from '../helpers'

export const SCREENSHOTS = join(ROOT, 'test', 'output', 'screenshots')

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// Without the background-networking flags Chromium keeps dialling Google on a closed network.
const CHROMIUM_ARGS = [
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
  close(): Promise<void>
}

/** Starts the real browser-mode server (real engine child process) and a real Chromium page on it. */
export async function startHarness(): Promise<Harness> {
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
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const consoleErrors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  page.on('pageerror', (e) => consoleErrors.push(e.message))
  mkdirSync(SCREENSHOTS, { recursive: true })
  return {
    url,
    base: url.slice(0, url.indexOf('/?token')),
    server,
    browser,
    page,
    consoleErrors,
    async screenshot(name) {
      const path = join(SCREENSHOTS, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      return path
    },
    async close() {
      await browser.close()
      server.kill('SIGTERM')
    }
  }
}
