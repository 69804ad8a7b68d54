import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join, sep } from 'node:path'
import sharp from 'sharp'
import type { EngineClient } from '../../src/main/host/engine-client'
import { startServer, type RunningServer } from '../../src/main/server/http-server'
import { exchangeToken } from '../server-harness'
import { ByteLruCache, makeThumbnail, thumbnailCache } from '../../src/main/engine/data/thumbnails'
import { sanitizeBatch, sanitizeRelativePath, suffixedName, UploadStore } from '../../src/main/engine/data/uploads'
import { IMAGE_EXTENSIONS } from '../../src/main/engine/data/images'
import { clampThumbSize, UPLOAD_EXTENSIONS, type UploadFile } from '../../src/shared/client'
import { ApiError } from '../../src/shared/errors'
import { fixture, tempDir } from '../helpers'
import { startTestServer, type TestServer } from '../server-harness'

let engine: EngineClient
let server: RunningServer
let cookie: string

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** Raw HTTP so headers can be forged and bodies are binary. */
function http(path: string, opts: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string; port?: number } = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: opts.port ?? server.port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      }
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

const jsonOf = (r: Reply) => JSON.parse(r.body.toString('utf8'))

const upload = (relativePath: string, body: Buffer, opts: { batch?: string; headers?: Record<string, string>; port?: number } = {}) =>
  http(`/upload?path=${encodeURIComponent(relativePath)}${opts.batch ? `&batch=${opts.batch}` : ''}`, {
    method: 'POST',
    headers: opts.headers ?? { cookie, 'content-type': 'application/octet-stream' },
    body,
    port: opts.port
  })

const call = async (method: string, args: unknown) =>
  jsonOf(await http(`/api/${method}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(args) }))

async function* chunks(...parts: Buffer[]) {
  for (const p of parts) yield p
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return err instanceof ApiError ? err.code : 'not-an-ApiError'
  }
  return undefined
}

const chelsea = readFileSync(fixture('images', 'animals', 'chelsea.png'))
const cat = readFileSync(fixture('images', 'animals', 'cat.jpg'))

let harness: TestServer

beforeAll(async () => {
  harness = await startTestServer()
  ;({ engine, server, cookie } = harness)
})

afterAll(async () => {
  await harness?.close()
})

describe('upload path sanitiser', () => {
  it('keeps relative folders and normalises separators', () => {
    expect(sanitizeRelativePath('set/cats/a.png')).toEqual(['set', 'cats', 'a.png'])
    expect(sanitizeRelativePath('set\\dogs\\b.JPG')).toEqual(['set', 'dogs', 'b.JPG'])
    expect(sanitizeRelativePath('./set//x/./c.webp')).toEqual(['set', 'x', 'c.webp'])
    expect(sanitizeRelativePath('model.onnx')).toEqual(['model.onnx'])
    expect(sanitizeRelativePath('m/labels.txt')).toEqual(['m', 'labels.txt'])
    expect(sanitizeRelativePath('inputs/x.npy')).toEqual(['inputs', 'x.npy'])
    expect(sanitizeRelativePath('a..b.png')).toEqual(['a..b.png'])
    expect(sanitizeRelativePath('ünïcode folder/名前.png')).toEqual(['ünïcode folder', '名前.png'])
  })

  it('refuses absolute paths, .., NUL and control characters', () => {
    for (const bad of ['/etc/x.png', '\\\\server\\share\\x.png', 'C:\\x.png', 'c:x.png', '../evil.png', 'a/../../evil.png', 'a\\..\\x.png', '..', 'a\0.png', 'a\n.png', '', '.', 'a/']) {
      expect(code(() => sanitizeRelativePath(bad)), JSON.stringify(bad)).toBe('invalid-arguments')
    }
    expect(code(() => sanitizeRelativePath(undefined))).toBe('invalid-arguments')
    expect(code(() => sanitizeRelativePath(null))).toBe('invalid-arguments')
    expect(code(() => sanitizeRelativePath('x'.repeat(300) + '.png'))).toBe('invalid-arguments')
  })

  it('accepts only images, .npy, .onnx and .txt', () => {
    for (const ext of IMAGE_EXTENSIONS) expect(UPLOAD_EXTENSIONS).toContain(ext)
    for (const bad of ['notes.exe', 'x.png.sh', 'noext', '.DS_Store', 'x.html', 'x.svg', 'x.js']) {
      expect(code(() => sanitizeRelativePath(bad)), bad).toBe('invalid-arguments')
    }
  })

  it('checks batch ids and suffixes clashing names', () => {
    expect(sanitizeBatch(null)).toBe('default')
    expect(sanitizeBatch('3f2c-aa_9')).toBe('3f2c-aa_9')
    expect(code(() => sanitizeBatch('../x'))).toBe('invalid-arguments')
    expect(code(() => sanitizeBatch('a/b'))).toBe('invalid-arguments')
    expect(suffixedName('a.png', 1)).toBe('a (1).png')
    expect(suffixedName('labels', 2)).toBe('labels (2)')
  })
})

describe('upload store', () => {
  it('stores under one root, suffixes clashes within a batch, removes everything on close', async () => {
    const store = new UploadStore(10, tempDir())
    const a = await store.save('d/x.txt', chunks(Buffer.from('hello')), 'b1')
    const b = await store.save('d/x.txt', chunks(Buffer.from('again')), 'b1')
    const c = await store.save('d/x.txt', chunks(Buffer.from('other')), 'b2')
    const root = await store.root()
    expect(a).toBe(join(root, 'b1', 'd', 'x.txt'))
    expect(b).toBe(join(root, 'b1', 'd', 'x (1).txt'))
    expect(c).toBe(join(root, 'b2', 'd', 'x.txt'))
    expect(readFileSync(b, 'utf8')).toBe('again')
    // Over the size limit: refused, and the partial file is gone.
    const err = await store.save('d/big.txt', chunks(Buffer.alloc(6), Buffer.alloc(6)), 'b1').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'out-of-range' })
    expect(existsSync(join(root, 'b1', 'd', 'big.txt'))).toBe(false)
    // Concurrent uploads of one name each get their own file.
    const same = await Promise.all([1, 2, 3, 4].map((i) => store.save('y.txt', chunks(Buffer.from(String(i))), 'b3')))
    expect(new Set(same).size).toBe(4)
    await store.close()
    expect(existsSync(root)).toBe(false)
    await expect(store.save('z.txt', chunks(Buffer.from('late')))).rejects.toMatchObject({ code: 'engine-unavailable' })
  })

  it('takes a weight shard of any name (group1-shard1of2) when the model.json uploaded before it in the batch lists it', async () => {
    const store = new UploadStore(1 << 20, tempDir())
    const json = JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of2', 'w/group1-shard2of2'], weights: [] }] })
    const model = await store.save('m/model.json', chunks(Buffer.from(json)), 'b')
    const one = await store.save('m/group1-shard1of2', chunks(Buffer.from('one')), 'b', 'm/model.json')
    const two = await store.save('m/w/group1-shard2of2', chunks(Buffer.from('two')), 'b', 'm/model.json')
    expect(one).toBe(join(model, '..', 'group1-shard1of2'))
    expect(readFileSync(two, 'utf8')).toBe('two')
    // A .bin beside it needs no listing.
    expect(await store.save('m/extra.bin', chunks(Buffer.from('x')), 'b', 'm/model.json')).toBe(join(model, '..', 'extra.bin'))
    const refusals: [string, string, string, RegExp][] = [
      // Not listed, listed but elsewhere, by a json of another batch, by a file that is no model.json, without listedBy.
      ['m/group1-shard9of9', 'b', 'm/model.json', /group1-shard9of9: model\.json does not list it among its weight files/],
      ['group1-shard1of2', 'b', 'm/model.json', /model\.json does not list it/],
      ['m/group1-shard1of2', 'other', 'm/model.json', /model\.json was not uploaded before it/],
      ['m/group1-shard1of2', 'b', 'm/extra.bin', /extra\.bin is not a TensorFlow\.js model\.json/],
      ['m/group1-shard1of2.sh', 'b', '', /only images, models/]
    ]
    for (const [path, batch, listedBy, message] of refusals) {
      await expect(store.save(path, chunks(Buffer.from('x')), batch, listedBy), path).rejects.toMatchObject({ code: 'invalid-arguments', message: expect.stringMatching(message) })
    }
    await store.close()
  })
})

describe('thumbnails (engine side)', () => {
  it('clamps sizes', () => {
    expect(clampThumbSize(undefined)).toBe(192)
    expect(clampThumbSize(null)).toBe(192)
    expect(clampThumbSize('abc')).toBe(192)
    expect(clampThumbSize('64')).toBe(64)
    expect(clampThumbSize(5)).toBe(32)
    expect(clampThumbSize(100.6)).toBe(101)
    expect(clampThumbSize(99999)).toBe(512)
  })

  it('respects EXIF rotation, fits inside, caches by path + size + mtime', async () => {
    const dir = tempDir()
    const path = join(dir, 'rotated.jpg')
    // Stored 400x200 landscape, EXIF orientation 6 (rotate 90°): displayed as 200x400 portrait.
    await sharp({ create: { width: 400, height: 200, channels: 3, background: '#3a7' } }).jpeg().withMetadata({ orientation: 6 }).toFile(path)
    const thumb = await makeThumbnail(path, 100)
    const meta = await sharp(thumb).metadata()
    expect(meta.format).toBe('webp')
    expect([meta.width, meta.height]).toEqual([50, 100])
    expect(await makeThumbnail(path, 100)).toBe(thumb) // same bytes object from the cache
    await new Promise((r) => setTimeout(r, 20))
    await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000' } }).jpeg().toFile(path)
    const fresh = await sharp(await makeThumbnail(path, 100)).metadata()
    expect([fresh.width, fresh.height]).toEqual([100, 100])
    expect(thumbnailCache.bytes).toBeLessThanOrEqual(thumbnailCache.maxBytes)
  })

  it('reports missing and broken images as ApiErrors', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'broken.png'), 'not a png at all')
    await expect(makeThumbnail(join(dir, 'nothing.png'), 64)).rejects.toMatchObject({ code: 'not-found' })
    await expect(makeThumbnail(join(dir, 'broken.png'), 64)).rejects.toMatchObject({ code: 'bad-file' })
  })

  it('LRU cache stays under its byte budget, evicting the least recently used', () => {
    const cache = new ByteLruCache(10)
    cache.set('a', new Uint8Array(4))
    cache.set('b', new Uint8Array(4))
    expect(cache.get('a')).toBeDefined() // a is now the most recent
    cache.set('c', new Uint8Array(4)) // evicts b
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBeDefined()
    expect(cache.bytes).toBe(8)
    cache.set('huge', new Uint8Array(11)) // larger than the budget: not cached at all
    expect(cache.get('huge')).toBeUndefined()
    expect(cache.size).toBe(2)
  })
})

describe('browser mode uploads', () => {
  let stored: string[] = []

  it('stores uploaded files with identical bytes, keeping the folder structure', async () => {
    const a = await upload('set/cats/a.png', chelsea, { batch: 'batch1' })
    const b = await upload('set/dogs/b.jpg', cat, { batch: 'batch1' })
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    stored = [jsonOf(a).value.path, jsonOf(b).value.path]
    const root = await server.uploads.root()
    expect(stored[0]).toBe(join(root, 'batch1', 'set', 'cats', 'a.png'))
    expect(stored[1].endsWith(`${sep}set${sep}dogs${sep}b.jpg`)).toBe(true)
    expect(readFileSync(stored[0]).equals(chelsea)).toBe(true)
    expect(readFileSync(stored[1]).equals(cat)).toBe(true)
    // The same name again in the same batch gets a suffix instead of overwriting.
    const again = jsonOf(await upload('set/cats/a.png', cat, { batch: 'batch1' }))
    expect(again.value.path).toBe(join(root, 'batch1', 'set', 'cats', 'a (1).png'))
    expect(readFileSync(stored[0]).equals(chelsea)).toBe(true)
  })

  it('refuses bad paths, types, methods, sizes and callers', async () => {
    for (const bad of ['../evil.png', '/etc/x.png', 'set/../../evil.png', 'a\0.png']) {
      const res = await upload(bad, chelsea)
      expect(res.status, bad).toBe(400)
      expect(jsonOf(res).error.code).toBe('invalid-arguments')
    }
    expect((await upload('notes.exe', Buffer.from('MZ'))).status).toBe(400)
    expect((await http('/upload?path=a.png', { method: 'POST', headers: { cookie }, body: chelsea })).status).toBe(200)
    expect((await http('/upload', { method: 'POST', headers: { cookie }, body: chelsea })).status).toBe(400)
    expect((await upload('a.png', chelsea, { batch: '..%2Fx' })).status).toBe(400)
    expect((await upload('a.png', chelsea, { headers: {} })).status).toBe(401)
    expect((await upload('a.png', chelsea, { headers: { cookie: `metascope_session_${server.port}=wrong` } })).status).toBe(401)
    expect((await upload('a.png', chelsea, { headers: { cookie, origin: 'http://evil.example' } })).status).toBe(403)
    expect((await upload('a.png', chelsea, { headers: { cookie, host: `evil.example:${server.port}` } })).status).toBe(403)
    expect((await http('/upload?path=a.png', { headers: { cookie } })).status).toBe(405)
    const huge = await http('/upload?path=huge.png', { method: 'POST', headers: { cookie, 'content-length': 300 * 1024 * 1024 } })
    expect(huge.status).toBe(413)
    expect(jsonOf(huge).error.code).toBe('out-of-range')
    expect(existsSync(join(await server.uploads.root(), 'default', 'huge.png'))).toBe(false)
    expect((await call('app.info', {})).ok).toBe(true)
  })

  it('images.add works on the uploaded paths, folder names as labels', async () => {
    const res = await call('images.add', { paths: stored })
    expect(res.ok).toBe(true)
    expect(res.value.failed).toEqual([])
    expect(res.value.added.map((e: { path: string }) => e.path)).toEqual(stored)
    expect(res.value.added.map((e: { folderLabel: string }) => e.folderLabel)).toEqual(['cats', 'dogs'])
  })

  it('serves thumbnails of added images, and 404 for unknown or broken ones', async () => {
    const [entry] = (await call('images.list', {})).value.filter((e: { path: string }) => e.path === stored[0])
    const res = await http(`/thumbs/${entry.id}?size=64`, { headers: { cookie } })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('image/webp')
    expect(res.headers['cache-control']).toBe('private, max-age=3600')
    const meta = await sharp(res.body).metadata()
    expect(Math.max(meta.width!, meta.height!)).toBe(64)
    expect([meta.width, meta.height]).toEqual([64, 43]) // 96x64 scaled to fit
    expect(res.body.length).toBeLessThan(chelsea.length / 3)
    // Never enlarged: the default 192 keeps the 96x64 original's size.
    const dflt = await sharp((await http(`/thumbs/${entry.id}`, { headers: { cookie } })).body).metadata()
    expect([dflt.width, dflt.height]).toEqual([96, 64])
    // A tiny or absurd size is clamped, not an error.
    expect((await sharp((await http(`/thumbs/${entry.id}?size=1`, { headers: { cookie } })).body).metadata()).width).toBe(32)
    expect((await http(`/thumbs/${entry.id}?size=nope`, { headers: { cookie } })).status).toBe(200)

    expect((await http('/thumbs/0123456789abcdef?size=64', { headers: { cookie } })).status).toBe(404)
    expect((await http('/thumbs/?size=64', { headers: { cookie } })).status).toBe(404)
    expect((await http(`/thumbs/${entry.id}?size=64`)).status).toBe(401)

    // The file turns to garbage after it was added: 404, and the engine keeps serving.
    const [dog] = (await call('images.list', {})).value.filter((e: { path: string }) => e.path === stored[1])
    await new Promise((r) => setTimeout(r, 20))
    writeFileSync(stored[1], 'garbage now')
    expect((await http(`/thumbs/${dog.id}?size=64`, { headers: { cookie } })).status).toBe(404)
    expect((await http(`/thumbs/${entry.id}?size=64`, { headers: { cookie } })).status).toBe(200)
    expect((await call('app.info', {})).ok).toBe(true)
  })

  it('makes much smaller thumbnails of a large photo', async () => {
    const big = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 90 }).toBuffer()
    const path = jsonOf(await upload('photos/big.jpg', big, { batch: 'batch2' })).value.path
    const id = (await call('images.add', { paths: [path] })).value.added[0].id
    const res = await http(`/thumbs/${id}?size=192`, { headers: { cookie } })
    const meta = await sharp(res.body).metadata()
    expect([meta.width, meta.height]).toEqual([192, 144])
    expect(res.body.length).toBeLessThan(big.length / 20)
    // Concurrent requests for many sizes all answer.
    const sizes = [32, 48, 64, 96, 128, 160, 256, 512]
    const all = await Promise.all(sizes.map((s) => http(`/thumbs/${id}?size=${s}`, { headers: { cookie } })))
    for (const [i, r] of all.entries()) {
      const m = await sharp(r.body).metadata()
      expect(Math.max(m.width!, m.height!)).toBe(sizes[i])
    }
  })

  it('removes the upload folder when the server closes', async () => {
    const rendererDir = tempDir()
    writeFileSync(`${rendererDir}/index.html`, '<!doctype html>')
    const other = await startServer({ engine, rendererDir, port: 0 })
    const res = await upload('x/y.png', chelsea, { port: other.port, headers: { cookie: await exchangeToken(other) } })
    const path = jsonOf(res).value.path
    expect(existsSync(path)).toBe(true)
    const root = await other.uploads.root()
    expect(root).not.toBe(await server.uploads.root())
    await other.close()
    expect(existsSync(root)).toBe(false)
  })
})

/**
 * The renderer's transport module, loaded at run time: tsconfig.node.json does not list renderer
 * files, so a static import would not typecheck there (vue-tsc checks the module itself).
 */
type HttpTransport = {
  uploadFiles(files: UploadFile[], onProgress?: (done: number, total: number) => void, concurrency?: number): Promise<string[]>
  isUploadable(relativePath: string, listed?: boolean): boolean
}
const transportModule = ['..', '..', 'src', 'renderer', 'src', 'api', 'http-transport.ts'].join('/')

describe('browser transport uploadFiles', () => {
  it('uploads 4 at a time in input order, skipping what the server would refuse', async () => {
    const { uploadFiles, isUploadable } = (await import(/* @vite-ignore */ transportModule)) as HttpTransport
    let inFlight = 0
    let peak = 0
    const realFetch = globalThis.fetch
    vi.stubGlobal('location', new URL(`http://127.0.0.1:${server.port}/`))
    // Node's fetch keeps no cookie jar: add the one the browser would send.
    vi.stubGlobal('fetch', async (input: URL, init: RequestInit) => {
      inFlight++
      peak = Math.max(peak, inFlight)
      try {
        return await realFetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), cookie } })
      } finally {
        inFlight--
      }
    })
    try {
      const files = [
        { file: new File([chelsea], 'a.png'), relativePath: 'pick/cats/a.png' },
        { file: new File(['junk'], '.DS_Store'), relativePath: 'pick/.DS_Store' },
        { file: new File(['readme'], 'README.md'), relativePath: 'pick/README.md' },
        ...Array.from({ length: 9 }, (_, i) => ({ file: new File([cat], `c${i}.jpg`), relativePath: `pick/dogs/c${i}.jpg` })),
        { file: new File(['cat\ndog\n'], 'labels.txt'), relativePath: '' }
      ]
      const progress: [number, number][] = []
      const paths = await uploadFiles(files, (done, total) => progress.push([done, total]))
      expect(paths).toHaveLength(11)
      expect(paths[0].endsWith(join('pick', 'cats', 'a.png'))).toBe(true)
      for (let i = 0; i < 9; i++) expect(paths[1 + i].endsWith(join('pick', 'dogs', `c${i}.jpg`))).toBe(true)
      expect(paths[10].endsWith(`${sep}labels.txt`)).toBe(true)
      expect(readFileSync(paths[0]).equals(chelsea)).toBe(true)
      expect(peak).toBeLessThanOrEqual(4)
      expect(peak).toBeGreaterThan(1)
      expect(progress[0]).toEqual([0, 11])
      expect(progress[progress.length - 1]).toEqual([11, 11])
      // All in one batch folder.
      const batchDir = paths[0].split(sep).slice(0, -3).join(sep)
      expect(new Set(paths.slice(0, 10).map((p) => p.split(sep).slice(0, -3).join(sep)))).toEqual(new Set([batchDir]))
      expect(paths[10]).toBe(join(batchDir, 'labels.txt'))

      // A model.json with extension-less shards: the shards go after the json, keep their names, and
      // land beside it; a .DS_Store marked as listed is still skipped.
      const manifest = JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: [] }] })
      const tfjs = [
        { file: new File(['1'], 'group1-shard1of2'), relativePath: 'net/group1-shard1of2', listedBy: 'net/model.json' },
        { file: new File(['x'], '.DS_Store'), relativePath: 'net/.DS_Store', listedBy: 'net/model.json' },
        { file: new File([manifest], 'model.json'), relativePath: 'net/model.json' },
        { file: new File(['2'], 'group1-shard2of2'), relativePath: 'net/group1-shard2of2', listedBy: 'net/model.json' }
      ]
      const stored = await uploadFiles(tfjs, undefined, 4)
      expect(stored.map((p) => p.split(sep).slice(-2).join('/'))).toEqual(['net/group1-shard1of2', 'net/model.json', 'net/group1-shard2of2'])
      expect(readFileSync(stored[2], 'utf8')).toBe('2')
      // Without the json's listing the server refuses an extension-less name.
      await expect(uploadFiles([{ file: new File(['1'], 'group1-shard1of2'), relativePath: 'group1-shard1of2', listedBy: 'model.json' }])).rejects.toMatchObject({ code: 'invalid-arguments' })

      // The server refuses one (a drive-letter path): the call rejects with the server's typed error.
      const failing = [{ file: new File([cat], 'x.jpg'), relativePath: 'C:/x.jpg' }, ...files.slice(3, 6)]
      await expect(uploadFiles(failing)).rejects.toMatchObject({ code: 'invalid-arguments', message: expect.stringMatching(/relative/) })
    } finally {
      vi.unstubAllGlobals()
    }
    expect(isUploadable('a/.hidden/x.png')).toBe(false)
    expect(isUploadable('../x.png')).toBe(false)
    expect(isUploadable('a/model.ONNX')).toBe(true)
    expect(isUploadable('x.exe')).toBe(false)
    expect(isUploadable('m/group1-shard1of2')).toBe(false)
    expect(isUploadable('m/group1-shard1of2', true)).toBe(true)
    expect(isUploadable('m/.DS_Store', true)).toBe(false)
  })
})
