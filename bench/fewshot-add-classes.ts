/**
 * "Add classes" (fewshot.adapt mode 'add', docs/fewshot-adapt.md) on the few-shot demo's CNN, which
 * knows Fashion-MNIST classes 0-4 only: classes 5-9 added from 1 or 5 support images each, then
 * old-class accuracy before and after on 200 test images per old class, and new-class accuracy on
 * 100 test images per new class (all 10 labels competing). Images from Debian's
 * dataset-fashion-mnist t10k files (never trained on), written as PNGs under /tmp once.
 *
 *   npx tsx bench/fewshot-add-classes.ts [--model resources/demo/fewshot/fashion_cnn_0to4.onnx] [--draws 40]
 *
 * --draws N: instead of the table, N seeded random support draws per shot count from the other test
 * images of classes 5-9 (the 700 after the first 300 of each), the same old and query images: old-class
 * drop (mean, worst, draws over 1 point) and new-class accuracy for the product's rule and the
 * mean-old-row level on the same separated rows.
 *
 * Rows: the product's rule (no steps), refinement steps at two rates, and, for comparison only, the
 * rules the docs reject: the separated rows levelled against the mean old row, the plain imprinted rows
 * levelled so (the rule before), and the plain imprinted rows with the mean of the old biases.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { adaptModel, type AdaptResult } from '../src/main/engine/fewshot/adapt/adapt'
import { embedFiles } from '../src/main/engine/fewshot/adapt/embed'
import type { HeadWeights } from '../src/main/engine/fewshot/adapt/head-net'
import { imprintRows, levelBiases, meanRowNorm, separateRows, supportCentre } from '../src/main/engine/fewshot/adapt/imprint'
import { FASHION_MNIST_DIR, FASHION_MNIST_ENV, FASHION_MNIST_LABELS, readIdxPair } from '../src/main/engine/fewshot/data/idx'
import { maxOf } from '../src/shared/stats'
import { ROOT } from '../test/paths'

const { values: v } = parseArgs({ options: { model: { type: 'string' }, draws: { type: 'string' } } })
const MODEL = resolve(v.model ?? join(ROOT, 'resources', 'demo', 'fewshot', 'fashion_cnn_0to4.onnx'))
const WORK = '/tmp/metascope-bench-add-classes'
const folder = (c: number) => FASHION_MNIST_LABELS[c].replace(/[/\s]+/g, '_')

/** Test-set images as PNGs: old/<class> (200 per class 0-4), s1 and s5 (support of 5-9), q (100 per class 5-9). */
async function images(): Promise<void> {
  if (existsSync(join(WORK, 'pool'))) return
  const dir = process.env[FASHION_MNIST_ENV] ?? FASHION_MNIST_DIR
  const { images: x, labels } = await readIdxPair(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'))
  const size = x.height * x.width
  const by = Array.from({ length: 10 }, (_, c) => [...labels.keys()].filter((i) => labels[i] === c))
  const write = async (sub: string, c: number, idx: number[]) => {
    mkdirSync(join(WORK, sub, folder(c)), { recursive: true })
    await Promise.all(idx.map((i) => sharp(Buffer.from(x.pixels.subarray(i * size, (i + 1) * size)), { raw: { width: x.width, height: x.height, channels: 1 } }).png().toFile(join(WORK, sub, folder(c), `${i}.png`))))
  }
  for (let c = 0; c < 5; c++) await write('old', c, by[c].slice(100, 300))
  for (let c = 5; c < 10; c++) await write('pool', c, by[c].slice(300, 1000))
  for (let c = 5; c < 10; c++) {
    await write('s1', c, by[c].slice(0, 1))
    await write('s5', c, by[c].slice(0, 5))
    await write('q', c, by[c].slice(10, 110))
  }
}

const pct = (x: number) => (x * 100).toFixed(1)

/**
 * Old and new accuracy of the same run's head with other new rows and biases (comparison rows only):
 * `rows` gets the support features (labels 0..N-1) and the old head, and returns [new rows, new biases].
 */
async function variant(r: AdaptResult, supportDir: string, rows: (old: HeadWeights, support: Float32Array[], labels: Int32Array) => [Float32Array, Float32Array]): Promise<{ old: number; fresh: number }> {
  const k = r.head.numClasses
  const f = r.head.featureDim
  const old: HeadWeights = { weight: r.adapted.weight.slice(0, k * f), bias: r.adapted.bias.slice(0, k) }
  const files = r.classes.flatMap((c) => readdirSync(join(supportDir, c)).map((name) => join(supportDir, c, name)))
  const labels = Int32Array.from(r.classes.flatMap((c, n) => readdirSync(join(supportDir, c)).map(() => n)))
  const support = (await embedFiles(r.model, r.head, files)).map((e) => e.features)
  const [fresh, freshBias] = rows(old, support, labels)
  const weight = new Float32Array([...old.weight, ...fresh])
  const bias = new Float32Array([...old.bias, ...freshBias])
  const top = (x: Float32Array) => {
    let best = 0
    let bestScore = -Infinity
    for (let c = 0; c < bias.length; c++) {
      let s = bias[c]
      for (let j = 0; j < f; j++) s += weight[c * f + j] * x[j]
      if (s > bestScore) [best, bestScore] = [c, s]
    }
    return best
  }
  const oldPreds = r.added!.report.old!.predictions
  const oldEmb = await embedFiles(r.model, r.head, oldPreds.map((p) => p.file))
  const qEmb = await embedFiles(r.model, r.head, r.predictions.map((p) => p.file))
  // Old images the original got wrong stay wrong unless a new row takes them (also wrong): count right ones only.
  const oldRight = oldPreds.filter((p, i) => top(oldEmb[i].features) === p.before.index && p.correctBefore).length
  const newRight = r.predictions.filter((p, i) => top(qEmb[i].features) === k + r.classes.indexOf(p.trueClass)).length
  return { old: oldRight / oldPreds.length, fresh: newRight / r.predictions.length }
}

/** b_n = mean_k(w_k . m + b_k) - w_n . m: the level at the support centre against the MEAN old row (the rule before). */
function meanLevel(old: HeadWeights, rows: Float32Array, centre: Float64Array, f: number): Float32Array {
  const k = old.bias.length
  let level = 0
  for (let r = 0; r < k; r++) {
    let s = old.bias[r]
    for (let j = 0; j < f; j++) s += old.weight[r * f + j] * centre[j]
    level += s / k
  }
  return Float32Array.from({ length: rows.length / f }, (_, n) => {
    let s = 0
    for (let j = 0; j < f; j++) s += rows[n * f + j] * centre[j]
    return level - s
  })
}

/** Seeded support draws (see the header): the product's rule against the mean-old-row level. */
async function draws(count: number): Promise<void> {
  const base = await adaptModel({ modelPath: MODEL, supportDir: join(WORK, 's1'), queryDir: join(WORK, 'q'), mode: 'add', oldDir: join(WORK, 'old') })
  const k = base.head.numClasses
  const f = base.head.featureDim
  const old: HeadWeights = { weight: base.adapted.weight.slice(0, k * f), bias: base.adapted.bias.slice(0, k) }
  const oldPreds = base.added!.report.old!.predictions
  const oldEmb = (await embedFiles(base.model, base.head, oldPreds.map((p) => p.file))).map((e) => e.features)
  const qEmb = (await embedFiles(base.model, base.head, base.predictions.map((p) => p.file))).map((e) => e.features)
  const qTruth = base.predictions.map((p) => k + base.classes.indexOf(p.trueClass))
  const pool = await Promise.all(base.classes.map(async (c) => {
    const dir = join(WORK, 'pool', c)
    return (await embedFiles(base.model, base.head, readdirSync(dir).map((name) => join(dir, name)))).map((e) => e.features)
  }))
  const n = base.classes.length
  const top = (weight: Float32Array, bias: Float32Array, x: Float32Array) => {
    let best = 0
    let bestScore = -Infinity
    for (let c = 0; c < bias.length; c++) {
      let s = bias[c]
      for (let j = 0; j < f; j++) s += weight[c * f + j] * x[j]
      if (s > bestScore) [best, bestScore] = [c, s]
    }
    return best
  }
  let seed = 12345
  const rand = () => (seed = (seed * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32
  console.log('| support | new biases | draws | old-class drop, mean (points) | worst | draws over 1 point | new-class accuracy, mean |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const shots of [1, 5]) {
    const stats = { product: { drops: [] as number[], fresh: [] as number[] }, mean: { drops: [] as number[], fresh: [] as number[] } }
    for (let d = 0; d < count; d++) {
      const support: Float32Array[] = []
      const labels: number[] = []
      pool.forEach((list, c) => {
        const picked = new Set<number>()
        while (picked.size < shots) picked.add(Math.floor(rand() * list.length))
        for (const i of picked) {
          support.push(list[i])
          labels.push(c)
        }
      })
      const l = Int32Array.from(labels)
      const scale = meanRowNorm(old.weight, k, f)
      const rows = separateRows(old, imprintRows(support, l, base.classes, f, scale), f, scale)
      const m = supportCentre(support, l, n, f)
      const weight = new Float32Array([...old.weight, ...rows])
      for (const [key, bias] of [['product', levelBiases(old, rows, m, f)], ['mean', meanLevel(old, rows, m, f)]] as const) {
        const all = new Float32Array([...old.bias, ...bias])
        const before = oldPreds.filter((p) => p.correctBefore).length
        const after = oldPreds.filter((p, i) => p.correctBefore && top(weight, all, oldEmb[i]) === p.before.index).length
        stats[key].drops.push((before - after) / oldPreds.length)
        stats[key].fresh.push(qEmb.filter((x, i) => top(weight, all, x) === qTruth[i]).length / qEmb.length)
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    for (const [key, label] of [['product', 'lowest old row at m (default)'], ['mean', 'mean old row at m (rejected)']] as const) {
      const { drops, fresh } = stats[key]
      console.log(`| ${shots}-shot | ${label} | ${count} | ${pct(mean(drops))} | ${pct(maxOf(drops))} | ${drops.filter((x) => x > 0.01 + 1e-9).length} | ${pct(mean(fresh))} |`)
    }
  }
}

async function main(): Promise<void> {
  await images()
  if (v.draws) return draws(Number(v.draws))
  console.log(`model ${MODEL}\n`)
  console.log('| support | new rows | old-class accuracy before -> after (1000 images) | new-class accuracy (500 queries, 10 labels) | per new class |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const shots of [1, 5]) {
    const settings: [string, number, number][] = [
      ['separated, lowest-old-row level (default)', 0, 0.1],
      ['+ 10 steps at rate 0.01', 10, 0.01],
      ['+ 10 steps at rate 0.1', 10, 0.1]
    ]
    let first: AdaptResult | null = null
    for (const [label, steps, innerRate] of settings) {
      const r = await adaptModel({ modelPath: MODEL, supportDir: join(WORK, `s${shots}`), queryDir: join(WORK, 'q'), mode: 'add', oldDir: join(WORK, 'old'), steps, innerRate })
      first ??= r
      const o = r.added!.report.old!
      const per = r.classes.map((c) => `${c} ${r.predictions.filter((p) => p.trueClass === c && p.correctAfter).length}`).join(', ')
      console.log(`| ${shots}-shot | ${label} | ${pct(o.accuracyBefore)} -> ${pct(o.accuracyAfter)} | ${pct(r.accuracyAfter)} | ${per} |`)
    }
    const before = pct(first!.added!.report.old!.accuracyBefore)
    const dir = join(WORK, `s${shots}`)
    const f = first!.head.featureDim
    const n = first!.classes.length
    const plain = (old: HeadWeights, support: Float32Array[], labels: Int32Array) => imprintRows(support, labels, first!.classes, f, meanRowNorm(old.weight, old.bias.length, f))
    const centre = (support: Float32Array[], labels: Int32Array) => supportCentre(support, labels, n, f)
    const comparisons: [string, (old: HeadWeights, support: Float32Array[], labels: Int32Array) => [Float32Array, Float32Array]][] = [
      ['separated rows, level = mean old row at m', (old, s, l) => {
        const rows = separateRows(old, plain(old, s, l), f, meanRowNorm(old.weight, old.bias.length, f))
        return [rows, meanLevel(old, rows, centre(s, l), f)]
      }],
      ['imprinted rows, level = mean old row at m, the rule before', (old, s, l) => {
        const rows = plain(old, s, l)
        return [rows, meanLevel(old, rows, centre(s, l), f)]
      }],
      ['imprinted rows, bias = mean old bias', (old, s, l) => {
        const b = old.bias.reduce((t, x) => t + x, 0) / old.bias.length
        return [plain(old, s, l), new Float32Array(n).fill(b)]
      }]
    ]
    for (const [label, rows] of comparisons) {
      const m = await variant(first!, dir, rows)
      console.log(`| ${shots}-shot | ${label} (rejected) | ${before} -> ${pct(m.old)} | ${pct(m.fresh)} | |`)
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
