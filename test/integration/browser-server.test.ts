import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'node:http'
import { connect } from 'node:net'
import { WebSocket } from 'ws'
import type { RunningServer } from '../../src/main/server/http-server'
import type { ApiEvent } from '../../src/shared/events'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixture, tempDir } from '../helpers'
import { startTestServer, type TestServer } from '../server-harness'

let server: RunningServer
let cookie: string

/** A request line as given (Node's http client would normalise `//evil.example`). */
function rawRequest(port: number, target: string): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`))
    let text = ''
    socket.on('data', (d) => (text += d.toString()))
    socket.on('end', () => {
      const [head] = text.split('\r\n\r\n')
      const [statusLine, ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      resolve({ status: Number(statusLine.split(' ')[1]), headers })
    })
    socket.on('error', reject)
  })
}

/** Raw HTTP so Host/Origin headers can be forged (fetch would refuse to). */
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      }
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

const call = (method: string, args: unknown) =>
  http(`/api/${method}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(args) })

let harness: TestServer

beforeAll(async () => {
  harness = await startTestServer()
  ;({ server, cookie } = harness)
})

afterAll(async () => {
  await harness?.close()
})

describe('browser mode authentication', () => {
  it('refuses requests without the token', async () => {
    expect((await http('/')).status).toBe(401)
    expect((await http('/api/app.info', { method: 'POST', body: '{}' })).status).toBe(401)
    expect((await http('/', { headers: { cookie: `metascope_session_${server.port}=wrong` } })).status).toBe(401)
  })

  it('exchanged the URL token once for a separate session secret in a per-port HttpOnly SameSite=Strict cookie', async () => {
    // The harness made the exchange, as a browser opening the printed URL does.
    const [name, value] = cookie.split('=')
    expect(name).toBe(`metascope_session_${server.port}`)
    expect(value).not.toBe(server.token)
    expect(value.length).toBeGreaterThanOrEqual(64)
    expect((await http('/', { headers: { cookie } })).status).toBe(200)
    // The token is spent: a second use, or the token as a cookie value, opens nothing.
    const again = await http(`/?token=${server.token}`)
    expect(again.status).toBe(401)
    expect(JSON.parse(again.body).error.message).toMatch(/already used/)
    expect((await http('/', { headers: { cookie: `${name}=${server.token}` } })).status).toBe(401)
    expect((await http('/', { headers: { cookie: `metascope_token=${server.token}` } })).status).toBe(401)
  })

  it('redirects the exchange to a fixed path, never to the request path', async () => {
    const fresh = await startTestServer({ exchange: false })
    try {
      const res = await rawRequest(fresh.server.port, `//evil.example/x?token=${fresh.server.token}`)
      expect(res.status).toBe(302)
      expect(res.headers.location).toBe('/')
      expect(String(res.headers['set-cookie'])).toMatch(new RegExp(`^metascope_session_${fresh.server.port}=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/`))
    } finally {
      await fresh.close()
    }
  })

  it('sends the CSP as a header with frame-ancestors none', async () => {
    const res = await http('/', { headers: { cookie } })
    expect(String(res.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/)
    expect(res.headers['x-frame-options']).toBe('DENY')
  })

  it('answers 400/404 to bad percent-escapes, and keeps serving', async () => {
    expect((await http('/api/%', { method: 'POST', headers: { cookie }, body: '{}' })).status).toBe(400)
    expect((await http('/files/%E0%A4%A', { headers: { cookie } })).status).toBe(404)
    expect((await http('/thumbs/%', { headers: { cookie } })).status).toBe(404)
    expect((await http('/%', { headers: { cookie } })).status).toBe(404)
    expect(JSON.parse((await call('app.info', {})).body).ok).toBe(true)
  })

  it('serves images only to its own pages (Sec-Fetch-Site), not to another local page', async () => {
    const added = JSON.parse((await call('images.add', { paths: [fixture('images', 'animals', 'chelsea.png')] })).body).value.added[0]
    expect(added.id).toMatch(/^[0-9a-f]{32}$/)
    for (const route of [`/files/${added.id}`, `/thumbs/${added.id}?size=64`]) {
      expect((await http(route, { headers: { cookie, 'sec-fetch-site': 'same-origin' } })).status).toBe(200)
      expect((await http(route, { headers: { cookie, 'sec-fetch-site': 'same-site' } })).status).toBe(403)
      expect((await http(route, { headers: { cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(403)
    }
  })

  it('refuses a foreign Host or Origin even with the cookie (DNS rebinding)', async () => {
    expect((await http('/', { headers: { cookie, host: `evil.example:${server.port}` } })).status).toBe(403)
    expect((await http('/api/app.info', { method: 'POST', body: '{}', headers: { cookie, origin: 'http://evil.example' } })).status).toBe(403)
  })

  it('binds to loopback only', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/)
    expect((server.server.address() as { address: string }).address).toBe('127.0.0.1')
  })
})

describe('browser mode API', () => {
  it('answers app.info from the engine process', async () => {
    const res = await call('app.info', {})
    expect(res.status).toBe(200)
    const body = JSON.parse(res.body)
    expect(body.ok).toBe(true)
    expect(body.value.backends.onnxruntime.inUse).toContain('cpu')
  })

  it('bad calls get typed errors and the server keeps serving', async () => {
    const unknown = JSON.parse((await call('no.such', {})).body)
    expect(unknown.error.code).toBe('unknown-method')
    const wrongTypes = JSON.parse((await call('images.add', { paths: 'not-an-array' })).body)
    expect(wrongTypes.error).toMatchObject({ code: 'invalid-arguments', message: expect.stringMatching(/paths/) })
    const missing = JSON.parse((await call('models.open', { path: '/nowhere/model.onnx' })).body)
    expect(missing.error).toMatchObject({ code: 'not-found', file: '/nowhere/model.onnx' })
    const badJson = await http('/api/app.info', { method: 'POST', headers: { cookie }, body: '{nope' })
    expect(JSON.parse(badJson.body).error.code).toBe('invalid-arguments')
    expect(JSON.parse((await call('app.info', {})).body).ok).toBe(true)
  })

  it('serves only images that were added', async () => {
    const added = JSON.parse((await call('images.add', { paths: [fixture('images', 'animals', 'chelsea.png')] })).body)
    const id = added.value.added[0].id
    const ok = await http(`/files/${id}`, { headers: { cookie } })
    expect(ok.status).toBe(200)
    expect(ok.headers['content-type']).toBe('image/png')
    expect((await http('/files/0123456789abcdef', { headers: { cookie } })).status).toBe(404)
    expect((await http('/../../../../etc/passwd', { headers: { cookie } })).status).toBe(404)
  })

  it('serves thumbnails only of images that were added, behind the cookie', async () => {
    const added = JSON.parse((await call('images.add', { paths: [fixture('images', 'objects', 'coffee.png')] })).body)
    const id = added.value.added[0].id
    const ok = await http(`/thumbs/${id}?size=48`, { headers: { cookie } })
    expect(ok.status).toBe(200)
    expect(ok.headers['content-type']).toBe('image/webp')
    expect(ok.headers['cache-control']).toBe('private, max-age=3600')
    expect((await http(`/thumbs/${id}?size=48`)).status).toBe(401)
    expect((await http('/thumbs/0123456789abcdef', { headers: { cookie } })).status).toBe(404)
  })

  it('takes uploads only with the cookie and a relative image path', async () => {
    const post = (path: string, headers: Record<string, string>) =>
      http(`/upload?path=${encodeURIComponent(path)}`, { method: 'POST', headers, body: 'x' })
    expect((await post('a.txt', {})).status).toBe(401)
    expect((await post('../a.txt', { cookie })).status).toBe(400)
    expect((await post('a.txt', { cookie, origin: 'http://evil.example' })).status).toBe(403)
    const ok = JSON.parse((await post('labels/a.txt', { cookie })).body)
    expect(ok).toMatchObject({ ok: true, value: { path: expect.stringMatching(/labels[/\\]a\.txt$/) } })
  })

  it('streams job events over the WebSocket and cancels', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { cookie } })
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    const events: ApiEvent[] = []
    const cancelled = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const e = JSON.parse(String(data)) as ApiEvent
        events.push(e)
        if (e.type === 'job.cancelled') resolve()
      })
    )
    // A real job long enough to cancel mid-way: Grad-CAM one image at a time over 300 copies of a photo.
    const dir = tempDir()
    for (let i = 0; i < 300; i++) copyFileSync(fixture('images', 'animals', 'chelsea.png'), join(dir, `c${i}.png`))
    const model = JSON.parse((await call('models.open', { path: fixture('models', 'mini_resnet.onnx') })).body).value
    const { value } = JSON.parse((await call('cam.run', { modelId: model.id, paths: [dir], batch: 1 })).body)
    while (!events.some((e) => e.type === 'job.progress')) await new Promise((r) => setTimeout(r, 10))
    expect(JSON.parse((await call('jobs.cancel', { jobId: value.jobId })).body).value.cancelled).toBe(true)
    await cancelled
    const idx = events.findIndex((e) => e.type === 'job.cancelled')
    await new Promise((r) => setTimeout(r, 50))
    expect(events.slice(idx + 1).filter((e) => e.type === 'job.item')).toHaveLength(0)
    expect(events.filter((e) => e.type === 'job.item').length).toBeLessThan(300)
    ws.close()
  })

  it('refuses a WebSocket without the cookie', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`)
    const err = await new Promise<Error>((r) => ws.once('error', r))
    expect(err.message).toMatch(/401/)
  })
})

describe('engine crash recovery (real child process)', () => {
  it('a killed engine is replaced; the UI is told and the next call works', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { cookie } })
    await new Promise((r, j) => ws.once('open', r).once('error', j))
    const restarted = new Promise<ApiEvent>((resolve) =>
      ws.on('message', (data) => {
        const e = JSON.parse(String(data)) as ApiEvent
        if (e.type === 'engine.restarted') resolve(e)
      })
    )
    const pid = harness.engine.pid!
    expect(pid).toBeGreaterThan(0)
    process.kill(pid, 'SIGKILL')
    const event = await restarted
    expect(event).toMatchObject({ type: 'engine.restarted', ok: true })
    expect(harness.engine.pid).not.toBe(pid)
    const info = JSON.parse((await call('app.info', {})).body)
    expect(info.ok).toBe(true)
    ws.close()
  })
})

describe('downloads', () => {
  it('serves only files a job registered, as attachments, to same-origin pages', async () => {
    expect((await http('/downloads/not-a-registered-id', { headers: { cookie } })).status).toBe(404)
    expect((await http('/downloads/x', { headers: { cookie, 'sec-fetch-site': 'same-site' } })).status).toBe(403)
  })
})
