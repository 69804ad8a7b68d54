import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers'

const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')
const SMALL = ['--methods', 'gradcam,eigencam', '--steps', '5', '--road', '30,70', '--sanity-images', '2', '--sanity-steps', '2', '--worst', '2']

const cli = (...args: string[]) => spawnSync(tsx, ['src/main/cli.ts', 'audit', ...args], { cwd: ROOT, encoding: 'utf8' })

describe('cli audit: the report', () => {
  let out: string
  let html: string
  let line: { images: number; accuracy: number; methods: { method: string; rank: number }[] }

  beforeAll(() => {
    out = tempDir('metascope-audit-cli-')
    const stdout = execFileSync(tsx, ['src/main/cli.ts', 'audit', '--model', DEMO_MODEL, '--images', DEMO_IMAGES, '--out', out, ...SMALL], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    line = JSON.parse(stdout.trim())
    html = readFileSync(join(out, 'report.html'), 'utf8')
  }, 180_000)

  it('prints one JSON line and writes the report, audit.json and the CSVs', () => {
    expect(line.images).toBe(40)
    // resources/demo/README.md: the model gets 32 of these 40 images right.
    expect(line.accuracy).toBe(0.8)
    expect(line.methods.map((m) => m.rank).sort()).toEqual([1, 2])
    expect(readdirSync(out).sort()).toEqual(['audit.json', 'classes.csv', 'confusion.csv', 'curves.csv', 'images.csv', 'methods.csv', 'reliability.csv', 'report.html', 'sanity.csv'])
    const images = readFileSync(join(out, 'images.csv'), 'utf8').trim().split('\n')
    expect(images).toHaveLength(41)
    expect(images[0]).toMatch(/^path,label,predicted,confidence,label_probability,error,gradcam\.target,gradcam\.deletion/)
  })

  it('is self-contained: every src/href is a data URL or an in-page anchor, no script, no link, no URL at all', () => {
    const refs = [...html.matchAll(/\s(?:src|href|xlink:href|srcset|action|poster)\s*=\s*"([^"]*)"/gi)].map((m) => m[1])
    expect(refs.length).toBeGreaterThan(20)
    for (const r of refs) expect(r.startsWith('data:image/png;base64,') || r.startsWith('#'), r.slice(0, 60)).toBe(true)
    expect(html).not.toMatch(/<script|<link|<iframe|<object|<embed|@import/i)
    expect(html).not.toMatch(/url\(\s*['"]?(?!data:)/i)
    expect(html).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i)
    expect(html).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`)
  })

  it('identifies the model by its file hash and the data set by the hash of its sorted list', () => {
    const sha = createHash('sha256').update(readFileSync(DEMO_MODEL)).digest('hex')
    expect(html).toContain(sha)
    const folders = readdirSync(DEMO_IMAGES).sort()
    const labels = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle_boot']
    const list = folders
      .flatMap((f) => readdirSync(join(DEMO_IMAGES, f)).map((n) => `${f}/${n}`))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((p) => `${p}\t${labels.indexOf(p.split('/')[0])}`)
      .join('\n')
    expect(html).toContain(createHash('sha256').update(list).digest('hex'))
    for (const section of ['Faithfulness', 'Sanity check', 'Model behaviour', 'Where does it look', 'Confusion matrix', 'Most confident mistakes', 'Software', 'onnxruntime-node']) expect(html).toContain(section)
  })

  it('the same settings and files give the same report', () => {
    const again = tempDir('metascope-audit-cli-')
    execFileSync(tsx, ['src/main/cli.ts', 'audit', '--model', DEMO_MODEL, '--images', DEMO_IMAGES, '--out', again, ...SMALL], { cwd: ROOT, stdio: 'ignore' })
    expect(readFileSync(join(again, 'report.html'), 'utf8')).toBe(html)
  }, 180_000)
})

describe('cli audit: bad input', () => {
  it('exits 2 with the reason for a shard spec like 5/4', () => {
    const r = cli('--model', DEMO_MODEL, '--images', DEMO_IMAGES, '--out', tempDir(), '--shard', '5/4')
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/error: --shard: Shard 5\/4: the shard number must be between 1 and 4/)
  })

  it('exits 2 for unknown methods or metrics', () => {
    expect(cli('--model', DEMO_MODEL, '--images', DEMO_IMAGES, '--out', tempDir(), '--methods', 'gradcam,magic').stderr).toMatch(/--methods must be one of gradcam/)
    expect(cli('--model', DEMO_MODEL, '--images', DEMO_IMAGES, '--out', tempDir(), '--metrics', 'vibes').status).toBe(2)
  })

  it('merge refuses shards run with different settings, naming the setting', () => {
    const [a, b] = [tempDir(), tempDir()]
    const base = ['--model', DEMO_MODEL, '--images', DEMO_IMAGES, '--metrics', 'confidence', '--methods', 'gradcam']
    expect(cli(...base, '--out', a, '--shard', '1/2').status).toBe(0)
    expect(cli(...base, '--out', b, '--shard', '2/2', '--batch', '4').status).toBe(0)
    const r = spawnSync(tsx, ['src/main/cli.ts', 'audit', 'merge', a, b, '--out', tempDir()], { cwd: ROOT, encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/the settings differ \(batch: 8 vs 4\)/)
  }, 120_000)
})
