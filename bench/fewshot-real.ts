/**
 * Real-backbone few-shot benchmark (issue #22 item 8): Metascope's head-only adaptation of real
 * published tfjs classifiers (nsfwjs 4.3's MobileNetV2 and MobileNetV2-mid, fetched on demand, never
 * committed) to 5 new classes, 1- and 5-shot, on seeded episodes of two datasets, for every head-only
 * method x candidate feature tensor x preprocessing, beside nearest-centroid and logistic regression
 * computed independently in numpy on the features tfjs's own predict gives (bench/fewshot_real_ref.py).
 *
 *   node scripts/fetch-real-models.mjs nsfwjs                   # the models, into ~/.cache/metascope/real
 *   /usr/bin/python3 bench/fewshot_real_pool.py --sizes 224     # pools + episodes, into ~/.cache/metascope/bench
 *   npx tsx bench/fewshot-real-tfjs.ts [--backend wasm --check 8]   # reference features (tfjs predict; cached)
 *   /usr/bin/python3 bench/fewshot_real_ref.py                  # NC and LR per episode, numpy
 *   npx tsx bench/fewshot-real.ts [--models mobilenet_v2,mobilenet_v2_mid] [--datasets fashion-mnist,gcompris]
 *       [--normalizations unit,imagenet] [--methods protomaml,anil,finetune,protonet] [--shots 1,5]
 *       [--episodes 100] [--threads 1] [--steps N --inner-rate R --tag NAME] [--features all|auto]
 *   npx tsx bench/fewshot-real.ts --table [--tag NAME]          # the markdown table from the results files
 *
 * --steps and --inner-rate replace the API's defaults (fewshot.adapt's schema) to see what they do; such a
 * run needs a --tag, which names its results file (metascope-<model>-<tag>.json) and its table.
 *
 * The Metascope side is the product's own path, minus only the per-call model opening: the model is
 * opened (tfjs converted) once, each preprocessing applied by adaptInputs (as fewshot.adapt does with
 * `normalization`), every candidate feature tensor (featureCandidates; one marked auto) embedded for
 * the whole pool in one onnxruntime run per batch (embedTensors), then for each episode adaptHead with
 * the method and the API's default steps and inner rate, and the query accuracy of the adapted head.
 * "suggest" is fewshot.suggestFeatures' ranking (leave-one-out nearest-centroid on the episode's
 * support set, ties to the automatic choice), scored with the method's accuracy on the tensor it picks.
 * Results: ~/.cache/metascope/bench/results/metascope-<model>.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { adaptHead } from '../src/main/engine/fewshot/adapt/adapt-head'
import { embedTensors } from '../src/main/engine/fewshot/adapt/embed'
import { featureCandidates, type FeatureTensor } from '../src/main/engine/fewshot/adapt/features'
import { findHead } from '../src/main/engine/fewshot/adapt/head'
import type { HeadWeights } from '../src/main/engine/fewshot/adapt/head-net'
import { adaptInputs } from '../src/main/engine/fewshot/adapt/preprocess'
import { DEFAULT_INNER_RATE, DEFAULT_STEPS, type AdaptMethod } from '../src/main/engine/fewshot/adapt/settings'
import { leaveOneOutCorrect } from '../src/main/engine/fewshot/adapt/suggest-features'
import { LoadedModel } from '../src/main/engine/model/loaded-model'
import { ADAPT_METHOD_NAMES } from '../src/shared/fewshot'
import { BENCH_DIR, featureFile, REAL_MODELS, type BenchNormalization } from './fewshot-real-models'
import { ci95, mean, printTable, type MetascopeResult, type Row } from './fewshot-real-table'

const { values: v } = parseArgs({
  options: {
    models: { type: 'string', default: 'mobilenet_v2,mobilenet_v2_mid' },
    datasets: { type: 'string', default: 'fashion-mnist,gcompris' },
    normalizations: { type: 'string', default: 'unit,imagenet' },
    methods: { type: 'string', default: ADAPT_METHOD_NAMES.join(',') },
    shots: { type: 'string', default: '1,5' },
    episodes: { type: 'string', default: '100' },
    threads: { type: 'string', default: '1' },
    steps: { type: 'string' },
    'inner-rate': { type: 'string' },
    tag: { type: 'string' },
    // 'auto': only the automatic feature tensor (a quicker look at other steps or rates).
    features: { type: 'string', default: 'all' },
    table: { type: 'boolean', default: false }
  }
})

interface Pool {
  classes: string[]
  files: Record<string, string[]>
}
interface Episode {
  support: number[][]
  query: number[][]
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T

/** logits = W x + b, argmax (ties to the lower class). */
function predict(w: HeadWeights, x: Float32Array): number {
  const f = x.length
  let best = 0
  let bestS = -Infinity
  for (let c = 0; c < w.bias.length; c++) {
    let s = w.bias[c]
    for (let j = 0; j < f; j++) s += w.weight[c * f + j] * x[j]
    if (s > bestS) {
      bestS = s
      best = c
    }
  }
  return best
}


/** fewshot.suggestFeatures' pick on one support set: best leave-one-out accuracy, ties to auto, then candidate order. */
function suggest(candidates: FeatureTensor[], support: Float32Array[][], labels: number[], ways: number): number {
  const scored = candidates.map((c, t) => ({ t, auto: c.auto, acc: leaveOneOutCorrect(support[t], labels, ways) }))
  scored.sort((a, b) => b.acc - a.acc || Number(b.auto) - Number(a.auto) || a.t - b.t)
  return scored[0].t
}

async function runModel(name: string): Promise<MetascopeResult> {
  const m = REAL_MODELS[name]
  if (!m) throw new Error(`unknown model ${name}; known: ${Object.keys(REAL_MODELS).join(', ')}`)
  const methods = v.methods.split(',') as AdaptMethod[]
  const threads = Number(v.threads)
  const steps = v.steps ? Number(v.steps) : DEFAULT_STEPS
  const innerRate = v['inner-rate'] ? Number(v['inner-rate']) : DEFAULT_INNER_RATE
  const t0 = performance.now()
  const opened = await LoadedModel.open(resolve(m.dir, 'model.json'))
  const rows: Row[] = []
  const timing: Record<string, number> = { openMs: performance.now() - t0 }
  for (const normalization of v.normalizations.split(',') as BenchNormalization[]) {
    const { model, preprocess } = await adaptInputs(opened, { normalization })
    const head = findHead(model)
    const candidates = featureCandidates(model, head).filter((c) => v.features !== 'auto' || c.auto)
    for (const dataset of v.datasets.split(',')) {
      const pool = readJson<Pool>(join(BENCH_DIR, dataset, 'pool.json'))
      const episodes = readJson<{ episodes: Record<string, Episode[]> }>(join(BENCH_DIR, dataset, 'episodes.json')).episodes
      const files = pool.classes.flatMap((c) => pool.files[c].map((f) => join(BENCH_DIR, `${dataset}-${m.size}`, c, f)))
      const missing = files.find((f) => !existsSync(f))
      if (missing) throw new Error(`${missing} missing: run /usr/bin/python3 bench/fewshot_real_pool.py --sizes ${m.size}`)
      const offsets = pool.classes.map((_, c) => pool.classes.slice(0, c).reduce((a, k) => a + pool.files[k].length, 0))
      const ways = pool.classes.length
      const te = performance.now()
      const embedded = await embedTensors(model, head, candidates, files, { preprocess, threads, batch: 16 })
      timing[`embed ${normalization} ${dataset}`] = performance.now() - te
      const rowsOf = (ep: Episode, part: 'support' | 'query') => ep[part].flatMap((ix, c) => ix.map((i) => offsets[c] + i))
      const labelsOf = (ep: Episode, part: 'support' | 'query') => ep[part].flatMap((ix, c) => ix.map(() => c))
      for (const shots of v.shots.split(',')) {
        const eps = (episodes[shots] ?? []).slice(0, Number(v.episodes))
        // acc[method][candidate][episode]
        const acc = methods.map(() => candidates.map(() => [] as number[]))
        // Support loss before the first and before the last inner step, per episode (what the inner rate does).
        const loss = methods.map(() => candidates.map(() => ({ first: [] as number[], last: [] as number[] })))
        const picks: number[] = []
        const ta = performance.now()
        for (const [e, ep] of eps.entries()) {
          const [si, qi] = [rowsOf(ep, 'support'), rowsOf(ep, 'query')]
          const [sl, ql] = [labelsOf(ep, 'support'), labelsOf(ep, 'query')]
          if (Number(shots) >= 2) picks.push(suggest(candidates, candidates.map((_, t) => si.map((i) => embedded[t][i].features)), sl, ways))
          for (const [k, method] of methods.entries()) {
            for (const [t, features] of candidates.entries()) {
              const { adapted, supportLoss } = await adaptHead({
                model,
                head,
                features,
                method,
                classes: pool.classes,
                steps,
                innerRate,
                support: si.map((i) => embedded[t][i].features),
                supportLabels: Int32Array.from(sl),
                query: qi.map((i) => embedded[t][i].features),
                queryLabels: Int32Array.from(ql),
                threads
              })
              acc[k][t].push(qi.filter((i, j) => predict(adapted, embedded[t][i].features) === ql[j]).length / qi.length)
              if (supportLoss.length) {
                loss[k][t].first.push(supportLoss[0])
                loss[k][t].last.push(supportLoss[supportLoss.length - 1])
              }
            }
          }
          process.stderr.write(`\r${name} ${normalization} ${dataset} ${shots}-shot: episode ${e + 1}/${eps.length}`)
        }
        const ms = performance.now() - ta
        timing[`adapt ${normalization} ${dataset} ${shots}-shot`] = ms
        process.stderr.write(` (${(ms / 1000).toFixed(0)} s)\n`)
        for (const [k, method] of methods.entries()) {
          for (const [t, c] of candidates.entries()) {
            rows.push({ dataset, normalization, shots: Number(shots), method, tensor: c.tensor, tensorFile: featureFile(c.tensor), width: c.width, kind: c.kind, auto: c.auto, headInput: c.headInput, mean: mean(acc[k][t]), ci95: ci95(acc[k][t]), episodes: acc[k][t].length, perEpisode: acc[k][t], ...(loss[k][t].first.length ? { supportLoss: { first: mean(loss[k][t].first), last: mean(loss[k][t].last) } } : {}) })
          }
          if (picks.length) {
            const chosen = picks.map((t, e) => acc[k][t][e])
            const counts = candidates.map((c, t) => `${c.tensor}: ${picks.filter((p) => p === t).length}`)
            rows.push({ dataset, normalization, shots: Number(shots), method, tensor: 'suggest', tensorFile: null, width: 0, kind: 'suggest', auto: false, headInput: false, mean: mean(chosen), ci95: ci95(chosen), episodes: chosen.length, perEpisode: chosen, picks: counts })
          }
        }
      }
    }
  }
  return { model: name, steps, innerRate, threads, timing, rows }
}

/**
 * A run of some datasets, normalisations, shots or methods replaces those rows of the model's results
 * file and keeps the others (same steps and inner rate only), so a part can be rerun alone.
 */
function merge(file: string, result: MetascopeResult): MetascopeResult {
  if (!existsSync(file)) return result
  const old = readJson<MetascopeResult>(file)
  if (old.steps !== result.steps || old.innerRate !== result.innerRate) return result
  const redone = (r: Row) => result.rows.some((n) => n.dataset === r.dataset && n.normalization === r.normalization && n.shots === r.shots && n.method === r.method)
  return { ...result, timing: { ...old.timing, ...result.timing }, rows: [...old.rows.filter((r) => !redone(r)), ...result.rows] }
}

async function main(): Promise<void> {
  const out = join(BENCH_DIR, 'results')
  mkdirSync(out, { recursive: true })
  const models = v.models.split(',')
  if ((v.steps || v['inner-rate']) && !v.tag) throw new Error('--steps and --inner-rate need a --tag: the untagged results are the defaults')
  const tag = v.tag ? `-${v.tag}` : ''
  if (!v.table) {
    for (const name of models) {
      const file = join(out, `metascope-${name}${tag}.json`)
      writeFileSync(file, JSON.stringify(merge(file, await runModel(name))))
    }
  }
  printTable(out, models, tag)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
