import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import sharp from 'sharp'
import { WebSocket } from 'ws'
import { ROOT, tempDir } from '../helpers'
import { polyglotPng, SCRIPTED_SVG } from '../hostile-files'
import { startServeProcess, type ServeProcess } from '../serve-process'
import { CHROMIUM, CHROMIUM_ARGS } from './harness'

/**
 * Safety round 2, item 4: files the user adds are served inertly. A PNG named poly.html whose text chunk
 * holds a script is served as the PNG it decodes as, and an SVG with a script never enters the library;
 * opened in Chromium with the session cookie, neither runs anything.
 */
let serve: ServeProcess
let browser: Browser
let dir: string

beforeAll(async () => {
  serve = await startServeProcess()
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  dir = tempDir()
  writeFileSync(join(dir, 'poly.html'), await polyglotPng())
  writeFileSync(join(dir, 'evil.svg'), SCRIPTED_SVG)
  writeFileSync(join(dir, 'page.html'), `<html><script>document.title='RAN'</script></html>`)
  writeFileSync(join(dir, 'photo.jpg'), await sharp({ create: { width: 20, height: 10, channels: 3, background: '#123' } }).jpeg().toBuffer())
})

afterAll(async () => {
  await browser?.close()
  await serve?.stop()
})

/** Opens a URL of the server in a fresh tab holding the session cookie; reports what the page did. */
async function open(path: string) {
  const context = await browser.newContext()
  const [name, value] = serve.cookie.split('=')
  await context.addCookies([{ name, value, url: serve.base }])
  const page = await context.newPage()
  const apiCalls: string[] = []
  page.on('request', (r) => {
    if (r.url().includes('/api/')) apiCalls.push(r.url())
  })
  const response = await page.goto(`${serve.base}${path}`)
  await page.waitForTimeout(500)
  const title = await page.title()
  await context.close()
  return { headers: response!.headers(), status: response!.status(), apiCalls, title }
}

describe('user files are served inertly', () => {
  it('admits only raster images, by what they decode as', async () => {
    const r = await serve.call('images.add', { paths: [join(dir, 'poly.html'), join(dir, 'evil.svg'), join(dir, 'page.html'), join(dir, 'photo.jpg')] })
    const value = r.body.value as { added: { name: string; format: string }[]; failed: { file: string; error: { code: string; message: string } }[] }
    expect(value.added.map((a) => [a.name, a.format])).toEqual([
      ['poly.html', 'png'],
      ['photo.jpg', 'jpeg']
    ])
    expect(value.failed.map((f) => [f.file.split('/').pop(), f.error.code])).toEqual([
      ['evil.svg', 'bad-file'],
      ['page.html', 'bad-file']
    ])
    expect(value.failed[0].error.message).toMatch(/evil\.svg.*PNG, JPEG, WebP, GIF, TIFF or AVIF/)
  })

  it('serves the polyglot as the PNG it is: no script runs in Chromium, with the session cookie', async () => {
    const list = (await serve.call('images.list', {})).body.value as { id: string; name: string }[]
    const poly = list.find((e) => e.name === 'poly.html')!
    const seen = await open(`/files/${poly.id}`)
    expect(seen.status).toBe(200)
    expect(seen.headers['content-type']).toBe('image/png')
    expect(seen.headers['x-content-type-options']).toBe('nosniff')
    expect(seen.headers['content-security-policy']).toMatch(/^sandbox;/)
    expect(seen.headers['content-disposition']).toBe(`inline; filename="poly.html"; filename*=UTF-8''poly.html`)
    expect(seen.apiCalls).toEqual([])
    expect(seen.title).not.toMatch(/RAN/)

    const photo = list.find((e) => e.name === 'photo.jpg')!
    expect((await open(`/files/${photo.id}`)).headers['content-type']).toBe('image/jpeg')
    const thumb = await open(`/thumbs/${poly.id}?size=64`)
    expect(thumb.headers).toMatchObject({ 'content-type': 'image/webp', 'x-content-type-options': 'nosniff', 'content-disposition': expect.stringMatching(/^inline;/) })
    expect(thumb.headers['content-security-policy']).toMatch(/^sandbox;/)
    expect(thumb.apiCalls).toEqual([])
  })

  it('the SVG has no URL to open: it never entered the library', async () => {
    const list = (await serve.call('images.list', {})).body.value as { name: string }[]
    expect(list.map((e) => e.name)).not.toContain('evil.svg')
  })
})

describe('downloads are attachments', () => {
  it('an adapted model downloads as an inert attachment', async () => {
    const images = join(ROOT, 'resources/demo/images')
    const support = tempDir()
    for (const c of ['Bag', 'Coat']) {
      mkdirSync(join(support, c))
      for (const f of readdirSync(join(images, c)).sort().slice(0, 2)) copyFileSync(join(images, c, f), join(support, c, f))
    }
    const ws = new WebSocket(`${serve.base.replace('http', 'ws')}/api/events`, { headers: { cookie: serve.cookie, origin: serve.base } })
    const ends: { jobId: string; type: string; result?: { downloadId: string } }[] = []
    ws.on('message', (d) => ends.push(JSON.parse(String(d))))
    await new Promise((r) => ws.once('open', r))
    const { jobId } = (await serve.call('fewshot.adapt', { modelPath: join(ROOT, 'resources/demo/fashion_cnn.onnx'), supportDir: support, queryDir: support })).body.value as { jobId: string }
    for (let i = 0; i < 600 && !ends.some((e) => e.jobId === jobId && e.type === 'job.done'); i++) await new Promise((r) => setTimeout(r, 50))
    ws.close()
    const done = ends.find((e) => e.jobId === jobId && e.type === 'job.done')!
    const res = await fetch(`${serve.base}/downloads/${done.result!.downloadId}`, { headers: { cookie: serve.cookie } })
    expect(res.status).toBe(200)
    expect(Object.fromEntries(res.headers)).toMatchObject({
      'content-type': 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'content-disposition': `attachment; filename="adapted-model.onnx"; filename*=UTF-8''adapted-model.onnx`
    })
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox;/)
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000)
  })
})
