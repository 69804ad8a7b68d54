import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { prepareOutputDir } from '../../src/main/engine/files/output-dir'
import type { ApiEvent } from '../../src/shared/events'
import { rejection, ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * Safety round 2, items 7-9: writes never follow links, never hang, and every call that writes checks
 * its output folder the same way. Outputs are new files renamed over their destination, so a link at a
 * predictable output name is replaced, never written through; a kernel file system, a FIFO, NUL, an
 * over-long name or a folder that is a file are typed errors naming the field.
 */
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const h = jobHarness()
let resultId: string
let imageFile: string

const PRECIOUS = 'the user wrote this; it must survive\n'

/** An outside file (the target of planted links) and its expected, unchanged content. */
function precious(): string {
  const p = join(tempDir(), 'precious.txt')
  writeFileSync(p, PRECIOUS)
  return p
}

beforeAll(async () => {
  const model = (await h.service.call('models.open', { path: DEMO_MODEL })) as { id: string }
  imageFile = join(DEMO_IMAGES, 'Bag', readdirSync(join(DEMO_IMAGES, 'Bag')).sort()[0])
  const { jobId } = (await h.service.call('cam.run', { modelId: model.id, paths: [imageFile], hold: true })) as { jobId: string }
  await h.until((e) => e.type === 'job.done' && e.jobId === jobId)
  const item = h.events.find((e) => e.type === 'job.item' && e.jobId === jobId) as Extract<ApiEvent, { type: 'job.item' }>
  resultId = (item.item as { resultId: string }).resultId
})

const draft = () => ({
  format: 'metascope-workspace' as const,
  version: 2 as const,
  savedAt: new Date().toISOString(),
  model: { path: DEMO_MODEL },
  images: [],
  settings: { method: 'gradcam' as const, layer: 'auto', target: 'top1', colormap: 'jet' as const, alpha: 0.5, sharedScale: false },
  runs: [{ id: 'run-1', modelId: 'm', modelPath: DEMO_MODEL, method: 'gradcam' as const, layer: 'auto', target: 'top1', createdAt: new Date().toISOString(), status: 'done' as const, items: [{ ok: true as const, resultId, imageId: null }] }]
})

const save = (dir: string) => h.service.call('workspace.save', { dir, workspace: draft() })
const exportTo = (dir: string) => h.service.call('cam.export', { resultIds: [resultId], dir })

describe('writes never follow links (item 7)', () => {
  it('workspace.save replaces a planted link in results/ instead of writing through it', async () => {
    const dir = tempDir()
    await save(dir)
    const target = precious()
    const map = join(dir, 'results', `${resultId}.cam.npy`)
    const good = readFileSync(map)
    execFileSync('rm', [map])
    symlinkSync(target, map)
    await save(dir)
    expect(readFileSync(target, 'utf8')).toBe(PRECIOUS)
    expect(lstatSync(map).isSymbolicLink()).toBe(false)
    expect(readFileSync(map).equals(good)).toBe(true)
  })

  it('workspace.save refuses a results/ folder that is a link outside the chosen folder', async () => {
    const dir = tempDir()
    const outside = tempDir()
    symlinkSync(outside, join(dir, 'results'))
    const err = await rejection(save(dir))
    expect(err).toMatchObject({ code: 'bad-file', details: { field: 'dir' }, message: expect.stringMatching(/results is a link to a place outside/) })
    expect(readdirSync(outside)).toEqual([])
    expect(existsSync(join(dir, 'workspace.json'))).toBe(false)
  })

  it('workspace.json that is a link is replaced, its target untouched', async () => {
    const dir = tempDir()
    const target = precious()
    symlinkSync(target, join(dir, 'workspace.json'))
    await save(dir)
    expect(readFileSync(target, 'utf8')).toBe(PRECIOUS)
    expect(JSON.parse(readFileSync(join(dir, 'workspace.json'), 'utf8')).format).toBe('metascope-workspace')
  })

  it('cam.export into a folder whose predictable output names are links leaves their targets as they were', async () => {
    const dir = tempDir()
    const stem = `${imageFile.split('/').pop()!.replace(/\.png$/, '')}.gradcam`
    const names = [`${stem}.png`, `${stem}.cam.npy`, `${stem}.raw.npy`, 'results.json', 'results.csv']
    const targets = names.map(() => precious())
    names.forEach((n, i) => symlinkSync(targets[i], join(dir, n)))
    const r = (await exportTo(dir)) as { written: string[] }
    expect(r.written.map((p) => p.split('/').pop()).sort()).toEqual([...names].sort())
    for (const t of targets) expect(readFileSync(t, 'utf8')).toBe(PRECIOUS)
    for (const n of names) expect(lstatSync(join(dir, n)).isFile()).toBe(true)
  })
})

describe('writes never hang (item 8)', () => {
  it.each(['/proc/metascope-test/ws', '/proc/self/metascope', '/sys/kernel/metascope', '/dev/metascope'])('workspace.save and cam.export into %s answer a typed error at once', async (dir) => {
    for (const call of [save, exportTo]) {
      const err = await rejection(call(dir))
      expect(err).toMatchObject({ code: 'bad-file', details: { field: 'dir' } })
      expect(err.message).toMatch(/kernel file system|cannot be created|permission/)
    }
  }, 10_000)

  it('a FIFO where an output file goes is refused, not opened', async () => {
    const dir = tempDir()
    execFileSync('mkfifo', [join(dir, 'results.json')])
    const err = await rejection(exportTo(dir))
    expect(err).toMatchObject({ code: 'bad-file', message: expect.stringMatching(/results\.json: it is not a regular file/) })
  }, 10_000)
})

describe('one output-folder check for every call that writes (item 9)', () => {
  const long = 'x'.repeat(300)
  let existing: string
  let support: string
  beforeAll(() => {
    existing = join(tempDir(), 'a-file.txt')
    writeFileSync(existing, 'not a folder')
    support = join(tempDir(), 'support')
    for (const c of ['Bag', 'Coat']) {
      mkdirSync(join(support, c), { recursive: true })
      const files = readdirSync(join(DEMO_IMAGES, c)).sort().slice(0, 2)
      files.forEach((f) => copyFileSync(join(DEMO_IMAGES, c, f), join(support, c, f)))
    }
  })

  const calls: [string, string, (out: string) => Promise<unknown>][] = [
    ['fewshot.adapt', 'out', (out) => h.service.call('fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: support, queryDir: support, out })],
    ['audit.run', 'out', (out) => h.service.call('audit.run', { modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, out })],
    ['workspace.save', 'dir', (out) => h.service.call('workspace.save', { dir: out, workspace: draft() })],
    ['cam.export', 'dir', (out) => h.service.call('cam.export', { resultIds: [resultId], dir: out })]
  ]

  it.each(calls)('%s: NUL, a 300-character name and an existing file are typed errors naming %s', async (_m, field, call) => {
    const nul = await rejection(call(join(tempDir(), 'a\0b')))
    expect(nul).toMatchObject({ code: 'invalid-arguments', message: expect.stringMatching(new RegExp(`${field}: contains a NUL character`)) })
    const tooLong = await rejection(call(join(tempDir(), long)))
    expect(tooLong).toMatchObject({ code: 'invalid-arguments', message: expect.stringMatching(new RegExp(`${field}: has a name longer than 255 bytes`)) })
    const file = await rejection(call(existing))
    expect(file).toMatchObject({ code: 'bad-file', details: { field }, message: expect.stringMatching(/is a file, not a folder/) })
  })

  it('the CLI goes through the same check (its field is the flag)', async () => {
    await expect(prepareOutputDir('a\0b', '--out')).rejects.toMatchObject({ code: 'invalid-arguments', message: '--out contains a NUL character.' })
    await expect(prepareOutputDir(existing, '--out')).rejects.toMatchObject({ code: 'bad-file', details: { field: '--out' } })
    const made = await prepareOutputDir(join(tempDir(), 'a', 'b', 'c'), '--out')
    expect(lstatSync(made).isDirectory()).toBe(true)
  })
})
