/**
 * Audit speed and memory (issue #11 acceptance 2):
 *   /usr/bin/python3 scripts/fixtures/make_large_models.py mobilenet_v2      # once: a 224 px model
 *   npx tsx bench/audit-bench.ts [--model M.onnx] [--images 1000] [--sample 16] [--batch 8] [--steps 20] [--threads N]
 *       [--parts metrics,amortise,full] [--full-metrics deletion,insertion,confidence,calibration,where]
 *
 * Images are generated on demand under $TMPDIR/metascope-audit-bench (never committed): random crops
 * and flips of the real photos in test/fixtures/images, 224 x 224 JPEGs in 10 class folders named by
 * class number (torchvision models carry no label names).
 *
 * Prints one JSON line per measurement:
 *   metrics:  ms per image of an audit that computes only that metric (each includes the CAM run of
 *             its batch; `cam` is the CAM run alone), and the sanity check's seconds per run;
 *   amortise: ms per perturbed input through the forward scorer at batch 1 and at batch 8;
 *   full:     the whole audit over all images: wall time, ms per image, peak RSS and heap (sampled
 *             every 250 ms and from the OS), so memory can be seen not to grow with the image count.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { cpus, homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { AUDIT_METRICS, type AuditMetric } from '../src/shared/audit'
import { writeAudit } from '../src/main/engine/audit/report-data'
import { planAudit } from '../src/main/engine/audit/plan'
import { runAudit } from '../src/main/engine/audit/run-audit'
import { fillStep } from '../src/main/engine/audit/deletion-insertion'
import { blurBaseline, mulberry32, relevanceOrder } from '../src/main/engine/audit/pixels'
import { ForwardScorer, type ScoreTask } from '../src/main/engine/model/scorer'
import { modelPreprocess } from '../src/main/engine/model/inputs'
import { loadImageTensor } from '../src/main/engine/data/image-tensor'
import { LoadedModel } from '../src/main/engine/model/loaded-model'

const root = join(__dirname, '..')
const { values: v } = parseArgs({
  options: {
    model: { type: 'string', default: join(process.env.METASCOPE_CACHE ?? join(homedir(), '.cache', 'metascope', 'large'), 'models', 'mobilenet_v2.onnx') },
    images: { type: 'string', default: '1000' },
    sample: { type: 'string', default: '16' },
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '20' },
    threads: { type: 'string', default: String(cpus().length) },
    parts: { type: 'string', default: 'metrics,amortise,full' },
    'full-metrics': { type: 'string', default: 'deletion,insertion,confidence,calibration,where' },
    dir: { type: 'string', default: join(tmpdir(), 'metascope-audit-bench') }
  }
})
const count = Number(v.images)
const sample = Number(v.sample)
const batch = Number(v.batch)
const steps = Number(v.steps)
const threads = Number(v.threads)
const parts = new Set(v.parts!.split(','))
if (!existsSync(v.model!)) {
  console.error(`missing ${v.model}: run /usr/bin/python3 scripts/fixtures/make_large_models.py mobilenet_v2 (or give --model)`)
  process.exit(2)
}
const print = (o: object) => console.log(JSON.stringify(o))

/** n images, 224 x 224, from crops of the fixture photos; `first` limits to a prefix (the sample set). */
async function makeImages(dir: string, n: number): Promise<void> {
  if (existsSync(dir) && readdirSync(dir).length === 10 && readdirSync(dir).reduce((a, c) => a + readdirSync(join(dir, c)).length, 0) === n) return
  rmSync(dir, { recursive: true, force: true })
  const photos = readdirSync(join(root, 'test', 'fixtures', 'images')).flatMap((d) => readdirSync(join(root, 'test', 'fixtures', 'images', d)).map((f) => join(root, 'test', 'fixtures', 'images', d, f)))
  const metas = await Promise.all(photos.map((p) => sharp(p).metadata()))
  const rand = mulberry32(7)
  for (let c = 0; c < 10; c++) mkdirSync(join(dir, String(c)), { recursive: true })
  for (let i = 0; i < n; i++) {
    const k = i % photos.length
    const { width = 0, height = 0 } = metas[k]
    const side = Math.floor(Math.min(width, height) * (0.5 + 0.5 * rand()))
    const left = Math.floor(rand() * (width - side))
    const top = Math.floor(rand() * (height - side))
    let img = sharp(photos[k]).extract({ left, top, width: side, height: side }).resize(224, 224)
    if (rand() < 0.5) img = img.flop()
    await img.jpeg({ quality: 90 }).toFile(join(dir, String(i % 10), `img_${String(i).padStart(5, '0')}.jpg`))
  }
}

async function audit(imagesDir: string, metrics: AuditMetric[], extra: Record<string, unknown> = {}) {
  const plan = await planAudit({ modelPath: v.model!, imagesDir, settings: { methods: ['gradcam'], metrics, batch, steps, sanityImages: 2, sanitySteps: 4, ...extra } })
  const t0 = performance.now()
  const file = await runAudit(plan, { threads })
  return { file, ms: performance.now() - t0, images: plan.inputs.length }
}

async function main(): Promise<void> {
  const all = join(v.dir!, `images-${count}`)
  const few = join(v.dir!, `images-${sample}`)
  await makeImages(few, sample)
  const model = await LoadedModel.open(v.model!)
  print({ model: model.file, input: model.summary.inputs[0].shape, classes: model.numClasses, threads, batch, cpus: cpus().length })

  if (parts.has('metrics')) {
    for (const m of ['where', 'confidence', 'calibration', 'deletion', 'insertion', 'road'] as const) {
      const r = await audit(few, [m])
      print({ part: 'metrics', metric: m === 'where' ? 'cam+where' : m, images: r.images, ms_per_image: +(r.ms / r.images).toFixed(1) })
    }
    const s = await audit(few, ['sanity'])
    print({ part: 'metrics', metric: 'sanity', images: 2, steps: 4, seconds_per_run: +(s.ms / 1000).toFixed(1), note: 'once per audit, not per image (includes the CAM run of the sample)' })
  }

  if (parts.has('amortise')) {
    const pre = modelPreprocess(model)
    const x = (await loadImageTensor(join(few, '0', readdirSync(join(few, '0'))[0]), pre)).data
    const [c, h, w] = model.inputChw
    const plane = { channels: c, height: h, width: w, layout: model.layout }
    const order = relevanceOrder(Float32Array.from({ length: h * w }, (_, p) => Math.sin(p / 97) + 1))
    const base = blurBaseline(x, plane)
    const tasks = (): ScoreTask[] => Array.from({ length: 64 }, (_, i) => ({ target: 0, fill: (d: Float32Array) => fillStep(d, x, base, order, i % 21, 20, plane), done: () => {} }))
    for (const b of [1, 8]) {
      const scorer = await ForwardScorer.create(model, b, threads)
      await scorer.score(tasks().slice(0, 8)) // warm-up
      const t0 = performance.now()
      await scorer.score(tasks())
      print({ part: 'amortise', batch: b, inputs: 64, ms_per_input: +((performance.now() - t0) / 64).toFixed(2) })
      await scorer.release()
    }
  }

  if (parts.has('full')) {
    await makeImages(all, count)
    const metrics = v['full-metrics']!.split(',').filter((m): m is AuditMetric => (AUDIT_METRICS as readonly string[]).includes(m))
    let peak = 0
    let peakHeap = 0
    const timer = setInterval(() => {
      const u = process.memoryUsage()
      peak = Math.max(peak, u.rss)
      peakHeap = Math.max(peakHeap, u.heapUsed)
    }, 250)
    const plan = await planAudit({ modelPath: v.model!, imagesDir: all, settings: { methods: ['gradcam'], metrics, batch, steps } })
    const t0 = performance.now()
    const file = await runAudit(plan, {
      threads,
      onProgress: (p) => {
        if (p.phase === 'computing' && p.done % 100 < batch) process.stderr.write(`${p.phase} ${p.done}/${p.total} rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`)
      }
    })
    const ms = performance.now() - t0
    clearInterval(timer)
    const out = await writeAudit(file, join(v.dir!, 'out'))
    print({
      part: 'full',
      images: file.summary.images,
      steps,
      failed: file.summary.failed,
      metrics,
      seconds: +(ms / 1000).toFixed(1),
      ms_per_image: +(ms / file.summary.images).toFixed(1),
      peak_rss_mb: +(peak / 2 ** 20).toFixed(0),
      peak_heap_mb: +(peakHeap / 2 ** 20).toFixed(0),
      max_rss_mb_os: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
      report: out.report
    })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  }
)
