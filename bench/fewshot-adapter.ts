/**
 * Does a meta-trained feature adapter help? (issue #22 item 5, docs/fewshot-adapt.md "Meta-training an
 * adapter".) On nsfwjs's MobileNetV2 (fetched on demand, never committed), its pooled features
 * (flatten_1, 1280, the automatic choice) with its correct preprocessing (pixel / 255):
 *   1. meta-train an adapter with the product's own code (planAdapter + trainAdapter, what
 *      `fewshot adapter` runs) on a folder of Fashion-MNIST training images of some classes;
 *   2. on test episodes of the other classes, adapt Proto-MAML head-only with its defaults (adaptHead,
 *      100 steps at 0.1) on the features with and without the adapter, the same episodes, and compare
 *      query accuracy, paired per episode.
 *
 * Splits: a = meta-train on classes 0-4 (train file), test on classes 5-9: the real-backbone bench's
 * pool and episodes (bench/fewshot_real_pool.py: 40 test-file images per class, 100 episodes per shots,
 * 15 queries), so "without" reproduces that table's Proto-MAML number. b = meta-train on 5-9 (train
 * file), test on 0-4: 40 test-file images per class, 100 seeded episodes drawn here.
 *
 *   node scripts/fetch-real-models.mjs nsfwjs
 *   /usr/bin/python3 bench/fewshot_real_pool.py --sizes 224 --datasets fashion-mnist
 *   /usr/bin/python3 bench/fewshot_adapter_pool.py --classes 0-4                    # train 0-4, test 0-4
 *   /usr/bin/python3 bench/fewshot_adapter_pool.py --classes 5-9 --test-per-class 0 # train 5-9
 *   npx tsx bench/fewshot-adapter.ts [--split a|b] [--iterations 200] [--meta-rate 1e-5] [--meta-batch 2]
 *       [--order first|second] [--inner-steps 100] [--episodes 100] [--shots 1,5] [--threads 1] [--tag NAME]
 * Results: ~/.cache/metascope/bench/results/adapter-<split>[-<tag>].json; the adapter file beside it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { AdapterArgs } from '../src/shared/fewshot-adapter'
import { adaptHead } from '../src/main/engine/fewshot/adapt/adapt-head'
import { applyAdapter, readAdapter } from '../src/main/engine/fewshot/adapt/adapter/file'
import { planAdapter, trainAdapter } from '../src/main/engine/fewshot/adapt/adapter/meta-train'
import { embedFiles } from '../src/main/engine/fewshot/adapt/embed'
import { headLogits } from '../src/main/engine/fewshot/adapt/predict'
import { DEFAULT_INNER_RATE, DEFAULT_STEPS } from '../src/main/engine/fewshot/adapt/settings'
import { seededRandom } from '../src/main/engine/data/random'
import { BENCH_DIR, REAL_MODELS } from './fewshot-real-models'
import { ci95, mean } from './fewshot-real-table'

const { values: v } = parseArgs({
  options: {
    split: { type: 'string', default: 'a' },
    iterations: { type: 'string', default: '200' },
    'meta-rate': { type: 'string' },
    'meta-batch': { type: 'string' },
    order: { type: 'string', default: 'first' },
    'inner-steps': { type: 'string' },
    episodes: { type: 'string', default: '100' },
    shots: { type: 'string', default: '1,5' },
    threads: { type: 'string', default: '1' },
    tag: { type: 'string' }
  }
})

interface Episode {
  support: number[][]
  query: number[][]
}
interface Pool {
  classes: string[]
  /** Per class, the image files. */
  files: string[][]
  episodes: Record<string, Episode[]>
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T

/** Split a: the real-backbone bench's pool and episodes (classes 5-9). */
function poolA(size: number): Pool {
  const pool = readJson<{ classes: string[]; files: Record<string, string[]> }>(join(BENCH_DIR, 'fashion-mnist', 'pool.json'))
  const episodes = readJson<{ episodes: Record<string, Episode[]> }>(join(BENCH_DIR, 'fashion-mnist', 'episodes.json')).episodes
  return { classes: pool.classes, files: pool.classes.map((c) => pool.files[c].map((f) => join(BENCH_DIR, `fashion-mnist-${size}`, c, f))), episodes }
}

/** Split b: the test-file images of classes 0-4 written by fewshot_adapter_pool.py, episodes drawn here (seed 0, 15 queries). */
async function poolB(size: number, shotsList: number[], count: number): Promise<Pool> {
  const { listClassFolders } = await import('../src/main/engine/fewshot/data/folder')
  const listed = await listClassFolders(join(BENCH_DIR, `fashion-mnist-test0to4-${size}`))
  const files = listed.classes.map((c) => c.files)
  const episodes: Record<string, Episode[]> = {}
  for (const shots of shotsList) {
    const random = seededRandom(shots)
    episodes[String(shots)] = Array.from({ length: count }, () => {
      const draws = files.map((list) => random.distinct(list.length, shots + 15))
      return { support: draws.map((d) => d.slice(0, shots)), query: draws.map((d) => d.slice(shots)) }
    })
  }
  return { classes: listed.classes.map((c) => c.name), files, episodes }
}

function accuracy(adapted: { weight: Float32Array; bias: Float32Array }, query: Float32Array[], labels: number[]): number {
  let correct = 0
  query.forEach((x, i) => {
    const logits = headLogits(adapted, x)
    let best = 0
    for (let c = 1; c < logits.length; c++) if (logits[c] > logits[best]) best = c
    if (best === labels[i]) correct++
  })
  return correct / query.length
}

async function main(): Promise<void> {
  const m = REAL_MODELS.mobilenet_v2
  const split = v.split
  if (split !== 'a' && split !== 'b') throw new Error('--split is a or b')
  const shotsList = v.shots.split(',').map(Number)
  const threads = Number(v.threads)
  const trainFolder = join(BENCH_DIR, `fashion-mnist-train${split === 'a' ? '0to4' : '5to9'}-${m.size}`)
  if (!existsSync(trainFolder)) throw new Error(`${trainFolder} missing: run /usr/bin/python3 bench/fewshot_adapter_pool.py (see the header)`)
  const resultsDir = join(BENCH_DIR, 'results')
  mkdirSync(resultsDir, { recursive: true })
  const name = `adapter-${split}${v.tag ? `-${v.tag}` : ''}`
  const adapterPath = join(resultsDir, `${name}.adapter.json`)

  // 1. Meta-train with the product's code path (the API's schema fills the defaults).
  const call = AdapterArgs.parse({
    modelPath: join(m.dir, 'model.json'),
    folder: trainFolder,
    out: adapterPath,
    normalization: 'unit',
    iterations: Number(v.iterations),
    ...(v['meta-rate'] ? { metaRate: Number(v['meta-rate']) } : {}),
    ...(v['meta-batch'] ? { metaBatch: Number(v['meta-batch']) } : {}),
    ...(v['inner-steps'] ? { innerSteps: Number(v['inner-steps']) } : {}),
    order: v.order,
    threads
  })
  const plan = await planAdapter(call, adapterPath)
  const t0 = performance.now()
  const trained = await trainAdapter(plan, {
    onProgress: (p) => p.done === p.total && console.error(`${p.stage} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`),
    onIteration: (it, total) => {
      if (it.iteration % 10 === 0 || it.iteration === total) console.error(`iteration ${it.iteration}/${total}: loss ${it.loss.toFixed(3)} accuracy ${(it.accuracy * 100).toFixed(1)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
    }
  })
  console.error(JSON.stringify({ start: trained.start, end: trained.end, relativeChange: trained.relativeChange, ms: trained.ms }))
  const { adapter } = await readAdapter(adapterPath)

  // 2. The test episodes, with and without it: Proto-MAML head-only, the API's defaults.
  const pool = split === 'a' ? poolA(m.size) : await poolB(m.size, shotsList, Number(v.episodes))
  const { model, preprocess } = plan.inputs
  const files = pool.files.flat()
  const offsets = pool.files.map((_, c) => pool.files.slice(0, c).reduce((a, l) => a + l.length, 0))
  const plain = (await embedFiles(model, plan.head, files, { features: plan.features, preprocess, threads })).map((e) => e.features)
  const adapted = applyAdapter(adapter, plain)
  const results: Record<string, { without: number[]; with: number[] }> = {}
  for (const shots of shotsList) {
    const eps = (pool.episodes[String(shots)] ?? []).slice(0, Number(v.episodes))
    const acc = { without: [] as number[], with: [] as number[] }
    for (const [e, ep] of eps.entries()) {
      const rows = (part: 'support' | 'query') => ep[part].flatMap((ix, c) => ix.map((i) => offsets[c] + i))
      const labels = (part: 'support' | 'query') => ep[part].flatMap((ix, c) => ix.map(() => c))
      const [si, qi, sl, ql] = [rows('support'), rows('query'), labels('support'), labels('query')]
      for (const [key, feats] of [['without', plain], ['with', adapted]] as const) {
        const head = await adaptHead({
          model,
          head: plan.head,
          features: { ...plan.features, width: feats[0].length, headInput: false },
          classes: pool.classes,
          method: 'protomaml',
          steps: DEFAULT_STEPS,
          innerRate: DEFAULT_INNER_RATE,
          support: si.map((i) => feats[i]),
          supportLabels: Int32Array.from(sl),
          query: qi.map((i) => feats[i]),
          queryLabels: Int32Array.from(ql),
          threads
        })
        acc[key].push(accuracy(head.adapted, qi.map((i) => feats[i]), ql))
      }
      if ((e + 1) % 20 === 0) console.error(`${shots}-shot: ${e + 1}/${eps.length} episodes, without ${(mean(acc.without) * 100).toFixed(1)}, with ${(mean(acc.with) * 100).toFixed(1)}`)
    }
    results[String(shots)] = acc
  }
  const out = { split, trainFolder, testClasses: pool.classes, adapter: { ...trained, warnings: undefined }, results }
  writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify(out, null, 1))
  const pct = (xs: number[]) => `${(mean(xs) * 100).toFixed(1)} ± ${(ci95(xs) * 100).toFixed(1)}`
  console.log(`| split | meta-train classes | test classes | shots | episodes | Proto-MAML, no adapter | with the adapter | difference (paired) |`)
  console.log(`| --- | --- | --- | --- | --- | --- | --- | --- |`)
  for (const [shots, r] of Object.entries(results)) {
    const diff = r.with.map((x, i) => x - r.without[i])
    console.log(`| ${split} | ${plan.classes.join(', ')} | ${pool.classes.join(', ')} | ${shots} | ${r.with.length} | ${pct(r.without)} | ${pct(r.with)} | ${(mean(diff) * 100).toFixed(1)} ± ${(ci95(diff) * 100).toFixed(1)} |`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
