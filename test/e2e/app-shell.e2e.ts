import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from '../helpers'
import { startHarness, type Harness } from './harness'

let h: Harness

beforeAll(async () => {
  h = await startHarness()
})

afterAll(async () => {
  await h?.close()
})

describe('browser mode app shell (real server, real engine, real Chromium)', () => {
  it('refuses the page without the token', async () => {
    const res = await fetch(h.base + '/')
    expect(res.status).toBe(401)
  })

  it('loads with the token and shows the active compute backends', async () => {
    await h.page.goto(h.url)
    expect(new URL(h.page.url()).searchParams.has('token')).toBe(false)
    const ort = h.page.getByTestId('backend-ort')
    await ort.waitFor()
    expect(await ort.textContent()).toMatch(/onnxruntime .* cpu/)
    expect(await h.page.getByTestId('backend-tfjs').textContent()).toMatch(/tfjs · \w+/)
    expect(await h.page.getByTestId('transport').textContent()).toBe('browser mode')
  })

  it('opens a real model and adds a folder of real images', async () => {
    await h.page.getByTestId('model-path-input').fill(fixture('models', 'tiny_cnn.onnx'))
    await h.page.getByTestId('model-path-submit').click()
    await h.page.getByTestId('model-summary').waitFor()
    expect(await h.page.getByTestId('model-summary').textContent()).toContain('5 classes')
    await h.page.getByTestId('images-path-input').fill(fixture('images'))
    await h.page.getByTestId('images-path-submit').click()
    await h.page.locator('[data-testid="thumbs"] img').first().waitFor()
    expect(await h.page.locator('[data-testid="thumbs"] li').count()).toBe(5)
    // Every thumbnail really decoded (served through the token-protected /files route).
    await h.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="thumbs"] img')].every((i) => (i as HTMLImageElement).complete))
    const widths = await h.page.$$eval('[data-testid="thumbs"] img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth))
    expect(widths.every((w) => w > 0)).toBe(true)
    const shot = await h.screenshot('app-shell')
    expect(existsSync(shot)).toBe(true)
  })

  it('shows a clear error for a bad model and keeps the open one', async () => {
    await h.page.getByTestId('model-path-input').fill('/no/such/model.onnx')
    await h.page.getByTestId('model-path-submit').click()
    const note = h.page.getByTestId('error-note')
    await note.waitFor()
    expect(await note.textContent()).toContain('/no/such/model.onnx')
    expect(await h.page.getByTestId('model-summary').textContent()).toContain('tiny_cnn.onnx')
    await h.screenshot('bad-model-error')
  })

  it('logged no CSP violations or page errors', () => {
    expect(h.consoleErrors).toEqual([])
  })
})
