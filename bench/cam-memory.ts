/**
 * Resident memory while `cam` runs over a large folder (issue #3 acceptance 4):
 *   npx tsx bench/cam-memory.ts [--images 1000] [--model test/fixtures/models/mini_resnet.onnx] [--batch 8]
 * Makes a folder of N real photos (the fixtures, resized to varied sizes with sharp), runs the CLI's
 * `cam` on it in a child process, samples its RSS every 50 ms from /proc, and prints one JSON line:
 * peak RSS, RSS after the first 10% of images, the count of result files on disk, the wall time.
 * A flat RSS from 10% to 100% is the point: results stream to disk and nothing accumulates.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'

const root = join(__dirname, '..')
const { values } = parseArgs({ options: { images: { type: 'string', default: '1000' }, model: { type: 'string', default: join(root, 'test/fixtures/models/mini_resnet.onnx') }, batch: { type: 'string', default: '8' } } })
const n = Number(values.images)

async function makeFolder(dir: string): Promise<void> {
  const sources = ['animals/chelsea.png', 'objects/coffee.png', 'objects/rocket.jpg', 'people/astronaut.png'].map((p) => join(root, 'test/fixtures/images', p))
  mkdirSync(dir, { recursive: true })
  for (let i = 0; i < n; i++) {
    const size = 96 + ((i * 37) % 400)
    await sharp(sources[i % sources.length]).resize(size, size).jpeg({ quality: 85 }).toFile(join(dir, `img${String(i).padStart(5, '0')}.jpg`))
  }
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'metascope-mem-'))
  const images = join(work, 'images')
  const out = join(work, 'out')
  await makeFolder(images)
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'cam', '--model', values.model!, '--images', images, '--out', out, '--batch', values.batch!], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  let peak = 0
  let atTenth = 0
  const timer = setInterval(() => {
    const rss = rssKb(child.pid!)
    peak = Math.max(peak, rss)
    if (!atTenth) {
      try {
        if (readdirSync(out).filter((f) => f.endsWith('.cam.npy')).length >= n / 10) atTenth = rss
      } catch {
        // the output folder is not there yet
      }
    }
  }, 50)
  let stderr = ''
  child.stderr!.on('data', (c) => (stderr += c))
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? -1)))
  clearInterval(timer)
  const files = readdirSync(out).filter((f) => f.endsWith('.cam.npy')).length
  console.log(JSON.stringify({ images: n, exit: code, result_files: files, peak_rss_mb: +(peak / 1024).toFixed(1), rss_at_10pct_mb: +(atTenth / 1024).toFixed(1), wall_s: +((performance.now() - t0) / 1000).toFixed(1) }))
  if (code !== 0) console.error(stderr.slice(-2000))
  rmSync(work, { recursive: true, force: true })
}

void main()
