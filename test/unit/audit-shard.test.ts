import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AuditFile } from '../../src/shared/audit'
import { mergeAuditFiles, readAuditFile } from '../../src/main/engine/audit/merge'
import { writeAudit } from '../../src/main/engine/audit/report-data'
import { planAudit } from '../../src/main/engine/audit/plan'
import { runAudit } from '../../src/main/engine/audit/run-audit'
import { parseShard, shardOf } from '../../src/main/engine/audit/shard'
import { ROOT, rejection, tempDir } from '../helpers'

const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const settings = { methods: ['gradcam'], steps: 6, roadPercentiles: [20, 60], sanityImages: 3, sanitySteps: 2, clusters: 3, worst: 3 }

describe('audit shards', () => {
  it('parses K/N and refuses specs outside 1..N', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 })
    for (const bad of ['5/4', '0/4', '1/0', 'a/b', '3', '-1/4']) expect(() => parseShard(bad)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'shard' }) }))
    expect(() => parseShard('5/4')).toThrow(/between 1 and 4/)
  })

  it('partitions the sorted list: disjoint parts whose union is the whole, sizes within one', () => {
    const items = Array.from({ length: 23 }, (_, i) => i)
    const parts = [1, 2, 3, 4].map((k) => shardOf(items, { index: k, count: 4 }))
    expect(parts.flat().sort((a, b) => a - b)).toEqual(items)
    expect(parts.map((p) => p.length)).toEqual([6, 6, 6, 5])
  })

  it('4 shards run separately and merged give the same numbers and files as one unsharded run', async () => {
    const base = tempDir('metascope-audit-shard-')
    const run = async (shard?: string) => {
      const plan = await planAudit({ modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, settings, shard })
      const file = await runAudit(plan)
      const dir = join(base, shard ? `shard-${shard.replace('/', '-of-')}` : 'full')
      await writeAudit(file, dir)
      return { dir, file }
    }
    const full = await run()
    const shards = [await run('1/4'), await run('2/4'), await run('3/4'), await run('4/4')]
    expect(shards.map((s) => s.file.images.length)).toEqual([10, 10, 10, 10])
    const parts = await Promise.all(shards.map(async (s) => ({ dir: s.dir, file: await readAuditFile(s.dir) })))
    const merged = mergeAuditFiles(parts)
    const mergedDir = join(base, 'merged')
    await writeAudit(merged, mergedDir)

    expect(full.file.summary.images).toBe(40)
    expect(full.file.summary.sanity?.images.length).toBe(3)
    expect(merged.images).toEqual(full.file.images)
    expect(merged.sanity).toEqual(full.file.sanity)
    expect(merged.summary).toEqual(full.file.summary)
    for (const f of ['audit.json', 'images.csv', 'methods.csv', 'curves.csv', 'confusion.csv', 'reliability.csv', 'sanity.csv', 'report.html']) {
      expect(readFileSync(join(mergedDir, f), 'utf8'), f).toBe(readFileSync(join(full.dir, f), 'utf8'))
    }
  }, 240_000)
})

describe('audit merge refuses shards that do not belong together', () => {
  const fake = (over: Partial<AuditFile> & { shard: AuditFile['shard'] }, dir: string) => {
    const file = {
      format: 'metascope-audit',
      version: 1,
      model: { file: 'm.onnx', sha256: 'a'.repeat(64), bytes: 1, inputs: [], numClasses: 2, labels: ['x', 'y'], preprocessing: { size: [8, 8], layout: 'NCHW', normalization: 'unit', resize: 'stretch', channels: 3 }, layer: 'l' },
      dataset: { dir: '/d', count: 0, listSha256: 'b'.repeat(64), labelled: false, classFolders: null },
      settings: { ...settings, methods: ['gradcam'] },
      software: { app: '0', node: '0', provider: 'cpu', libraries: {} },
      images: [],
      sanity: null,
      worst: {},
      summary: {} as AuditFile['summary'],
      ...over
    } as AuditFile
    return { dir, file }
  }
  const a = fake({ shard: { index: 1, count: 2 } }, '/out/a')

  it('names the differing model', () => {
    const b = fake({ shard: { index: 2, count: 2 }, model: { ...a.file.model, sha256: 'c'.repeat(64) } }, '/out/b')
    expect(() => mergeAuditFiles([a, b])).toThrow(/\/out\/b.*the models differ/)
  })

  it('names the differing settings', () => {
    const b = fake({ shard: { index: 2, count: 2 }, settings: { ...a.file.settings, steps: 20 } }, '/out/b')
    expect(() => mergeAuditFiles([a, b])).toThrow(/the settings differ \(steps: 6 vs 20\)/)
  })

  it('refuses different image lists, shard counts, duplicates, missing shards and unsharded runs', () => {
    expect(() => mergeAuditFiles([a, fake({ shard: { index: 2, count: 2 }, dataset: { ...a.file.dataset, listSha256: 'd'.repeat(64) } }, '/out/b')])).toThrow(/image lists differ/)
    expect(() => mergeAuditFiles([a, fake({ shard: { index: 2, count: 3 } }, '/out/b')])).toThrow(/shard counts differ/)
    expect(() => mergeAuditFiles([a, fake({ shard: { index: 1, count: 2 } }, '/out/b')])).toThrow(/given twice/)
    expect(() => mergeAuditFiles([a])).toThrow(/2\/2 are missing/)
    expect(() => mergeAuditFiles([a, fake({ shard: null }, '/out/b')])).toThrow(/not a shard/)
  })

  it('says a folder without audit.json is not an audit output', async () => {
    const err = await rejection(readAuditFile(tempDir()))
    expect(err.message).toMatch(/holds no audit\.json/)
  })
})
