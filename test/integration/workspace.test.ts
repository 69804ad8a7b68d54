import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { CamItem, Workspace, WorkspaceDraft } from '../../src/shared/api'
import type { ApiEvent } from '../../src/shared/events'
import { ROOT, tempDir } from '../helpers'
import { startTestServer, type TestServer } from '../server-harness'

/**
 * Workspaces in browser mode, through the real HTTP server and engine: a save names its results by
 * id (so 1,000 results are a small request, far under the 1 MiB body limit), the file keeps no map
 * data inline, reopening rebuilds every result from results/, and crafted ids cannot reach outside.
 */
let h: TestServer
const call = async <T>(method: string, args: unknown): Promise<{ ok: boolean; value: T; error?: { message: string } }> => {
  const res = await fetch(`http://127.0.0.1:${h.server.port}/api/${method}`, { method: 'POST', headers: { cookie: h.cookie, 'content-type': 'application/json' }, body: JSON.stringify(args) })
  return (await res.json()) as { ok: boolean; value: T; error?: { message: string } }
}

let items: CamItem[] = []
let draft: WorkspaceDraft

beforeAll(async () => {
  h = await startTestServer()
  const model = await call<{ id: string; path: string }>('models.open', { path: join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx') })
  const dir = tempDir()
  mkdirSync(join(dir, 'imgs'))
  const src = join(ROOT, 'resources', 'demo', 'images', 'Bag')
  const one = join(src, readdirSync(src)[0])
  for (let i = 0; i < 1000; i++) copyFileSync(one, join(dir, 'imgs', `b${String(i).padStart(4, '0')}.png`))
  const ws = new WebSocket(`ws://127.0.0.1:${h.server.port}/api/events`, { headers: { cookie: h.cookie } })
  await new Promise((r, j) => ws.once('open', r).once('error', j))
  const done = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as ApiEvent
      if (e.type === 'job.item') items.push(e.item as CamItem)
      if (e.type === 'job.done' || e.type === 'job.failed') resolve()
    })
  )
  const run = await call<{ jobId: string }>('cam.run', { modelId: model.value.id, paths: [join(dir, 'imgs')], batch: 64 })
  expect(run.ok).toBe(true)
  await done
  ws.close()
  items = items.filter((i) => i.ok)
  draft = {
    format: 'metascope-workspace',
    version: 2,
    savedAt: new Date().toISOString(),
    model: { path: model.value.path },
    images: [],
    settings: { method: 'gradcam', layer: 'auto', target: 'top1', colormap: 'jet', alpha: 0.5, sharedScale: false, signView: 'magnitude' },
    runs: [
      {
        id: 'run-1',
        modelId: model.value.id,
        modelPath: model.value.path,
        method: 'gradcam',
        layer: 'auto',
        target: 'top1',
        createdAt: new Date().toISOString(),
        status: 'done',
        items: items.map((i) => (i.ok ? { ok: true as const, resultId: i.resultId, imageId: i.imageId } : i))
      }
    ]
  }
}, 240_000)

afterAll(async () => {
  await h?.close()
})

describe('workspaces by result id', () => {
  it('saves 1,000 results in a small request, with no map data in workspace.json, and reopens them whole', async () => {
    expect(items).toHaveLength(1000)
    const body = JSON.stringify({ dir: 'x', workspace: draft })
    expect(body.length).toBeLessThan(200_000)
    const dir = tempDir()
    const saved = await call<{ file: string }>('workspace.save', { dir, workspace: draft })
    expect(saved.ok).toBe(true)
    const text = readFileSync(join(dir, 'workspace.json'), 'utf8')
    expect(text).not.toContain('data:image/png')
    expect(readdirSync(join(dir, 'results'))).toHaveLength(2000)
    const opened = await call<Workspace>('workspace.open', { dir })
    expect(opened.ok).toBe(true)
    const back = opened.value.runs[0].items
    expect(back).toHaveLength(1000)
    for (const k of [0, 517, 999]) {
      const a = back[k] as Extract<CamItem, { ok: true }>
      const b = items[k] as Extract<CamItem, { ok: true }>
      expect(a.resultId).toBe(b.resultId)
      expect(a.mapPng).toMatch(/^data:image\/png;base64,/)
      expect(a.raw).toHaveLength(b.raw.length)
      a.raw.forEach((v, i) => expect(v).toBeCloseTo(b.raw[i], 5))
    }
    // Saving the reopened workspace into its own folder keeps it intact.
    expect((await call('workspace.save', { dir, workspace: draft })).ok).toBe(true)
    expect((await call<Workspace>('workspace.open', { dir })).value.runs[0].items.filter((i) => i.ok)).toHaveLength(1000)
  })

  it('refuses crafted result ids at the schema, on save and on open', async () => {
    const evil = structuredClone(draft)
    ;(evil.runs[0].items[0] as { resultId: string }).resultId = '../../outside/evil'
    const dir = tempDir()
    const saved = await call('workspace.save', { dir, workspace: evil })
    expect(saved.ok).toBe(false)
    expect(saved.error!.message).toMatch(/resultId.*is not a result id/)
    const file = { ...draft, runs: [{ ...draft.runs[0], items: [{ ...(items[0] as object), resultId: '../../outside/evil', mapPng: undefined, raw: undefined }] }] }
    writeFileSync(join(dir, 'workspace.json'), JSON.stringify(file))
    const opened = await call('workspace.open', { dir })
    expect(opened.ok).toBe(false)
    expect(opened.error!.message).toMatch(/workspace\.json is not a Metascope workspace .*is not a result id/)
  })

  it('keeps a result whose maps are missing as an error, and the rest', async () => {
    const dir = tempDir()
    const small = { ...draft, runs: [{ ...draft.runs[0], items: draft.runs[0].items.slice(0, 3) }] }
    expect((await call('workspace.save', { dir, workspace: small })).ok).toBe(true)
    const id = (small.runs[0].items[1] as { resultId: string }).resultId
    const { rmSync } = await import('node:fs')
    rmSync(join(dir, 'results', `${id}.cam.npy`))
    const back = (await call<Workspace>('workspace.open', { dir })).value.runs[0].items
    expect(back.map((i) => i.ok)).toEqual([true, false, true])
    expect((back[1] as { error: { message: string } }).error.message).toMatch(/maps of .* are missing/)
  })
})
