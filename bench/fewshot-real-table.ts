/**
 * The real-backbone few-shot benchmark's table (bench/fewshot-real.ts --table): Metascope's rows
 * (results/metascope-<model>.json) beside the numpy baselines on tfjs features (results/ref-<model>.json,
 * bench/fewshot_real_ref.py), joined on dataset, normalisation, feature tensor and shots, then the
 * acceptance checks of issue #22 for mobilenet_v2 with its correct preprocessing, 5-way 5-shot.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { maxOf } from '../src/shared/stats'

export interface Row {
  dataset: string
  normalization: string
  shots: number
  method: string
  /** The feature tensor, or 'suggest' for the per-episode leave-one-out pick. */
  tensor: string
  tensorFile: string | null
  width: number
  kind: string
  auto: boolean
  headInput: boolean
  mean: number
  ci95: number
  episodes: number
  perEpisode: number[]
  /** Mean support loss over episodes before the first and before the last inner step (absent without steps). */
  supportLoss?: { first: number; last: number }
  /** For 'suggest': how often each tensor was picked. */
  picks?: string[]
}

export interface MetascopeResult {
  model: string
  steps: number
  innerRate: number
  threads: number
  timing: Record<string, number>
  rows: Row[]
}

interface RefStat {
  mean: number
  ci95: number
  episodes: number
  per_episode: number[]
}
interface RefRow {
  dataset: string
  normalization: string
  tensor_file: string
  width: number
  shots: number
  nc: RefStat
  lr: RefStat
}

export const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length

/** Half-width of the normal-approximation 95% interval of the mean. */
export function ci95(xs: number[]): number {
  const m = mean(xs)
  return xs.length > 1 ? (1.96 * Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))) / Math.sqrt(xs.length) : 0
}

const pct = (m: number, c: number) => `${(m * 100).toFixed(1)} ± ${(c * 100).toFixed(1)}`
/** a - b per episode (same episodes): the mean difference in points and its 95% interval. */
function paired(a: number[], b: number[]): { d: number; ci: number } {
  const diffs = a.map((x, i) => x - b[i])
  return { d: mean(diffs) * 100, ci: ci95(diffs) * 100 }
}
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`

export function printTable(dir: string, models: string[], tag = ''): void {
  const lines: string[] = []
  const checks: string[] = []
  for (const model of models) {
    const oursPath = join(dir, `metascope-${model}${tag}.json`)
    if (!existsSync(oursPath)) continue
    const ours = JSON.parse(readFileSync(oursPath, 'utf8')) as MetascopeResult
    const refPath = join(dir, `ref-${model}.json`)
    const ref = existsSync(refPath) ? ((JSON.parse(readFileSync(refPath, 'utf8')) as { rows: RefRow[] }).rows ?? []) : []
    const methods = [...new Set(ours.rows.map((r) => r.method))]
    const refOf = (r: Pick<Row, 'dataset' | 'normalization' | 'tensorFile' | 'shots'>) => ref.find((x) => x.dataset === r.dataset && x.normalization === r.normalization && x.tensor_file === r.tensorFile && x.shots === r.shots)
    lines.push(`### ${model} (steps ${ours.steps}, inner rate ${ours.innerRate})`, '')
    lines.push(`| dataset | shots | preprocessing | features | ${methods.join(' | ')} | NC (numpy, tfjs features) | LR (numpy, tfjs features) |`)
    lines.push(`| --- | --- | --- | --- | ${methods.map(() => '---').join(' | ')} | --- | --- |`)
    const groups = new Map<string, Row[]>()
    for (const r of ours.rows) {
      const key = `${r.dataset}|${r.shots}|${r.normalization}|${r.tensor}`
      groups.set(key, [...(groups.get(key) ?? []), r])
    }
    // Dataset, shots, then the correct preprocessing first, candidates in their order (backbone first), suggest last.
    const datasets = [...new Set(ours.rows.map((r) => r.dataset))].sort()
    const norms = ['unit', 'imagenet']
    const order = (r: Row) => [datasets.indexOf(r.dataset), r.shots, norms.indexOf(r.normalization)]
    const sorted = [...groups.values()].sort((a, b) => {
      const [x, y] = [order(a[0]), order(b[0])]
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
    })
    for (const rs of sorted) {
      const r0 = rs[0]
      const feat = r0.tensor === 'suggest' ? `suggest (leave-one-out on the support set; picks ${r0.picks?.map(shortPick).join(', ')})` : `${short(r0.tensor)} (${r0.width}, ${r0.kind}${r0.headInput ? ', head input' : ''})${r0.auto ? ' **auto**' : ''}`
      const cells = methods.map((m) => {
        const r = rs.find((x) => x.method === m)
        return r ? pct(r.mean, r.ci95) : ''
      })
      const b = r0.tensorFile ? refOf(r0) : undefined
      const pre = r0.normalization === 'unit' ? 'unit (pixel/255, nsfwjs)' : 'imagenet mean/std'
      lines.push(`| ${r0.dataset} | ${r0.shots} | ${pre} | ${feat} | ${cells.join(' | ')} | ${b ? pct(b.nc.mean, b.nc.ci95) : ''} | ${b ? pct(b.lr.mean, b.lr.ci95) : ''} |`)
    }
    lines.push('')
    // Acceptance (issue #22): mobilenet_v2, correct preprocessing, 5-way 5-shot, 100 episodes.
    for (const dataset of [...new Set(ours.rows.map((r) => r.dataset))]) {
      const at = ours.rows.filter((r) => r.dataset === dataset && r.normalization === 'unit' && r.shots === 5 && r.tensor !== 'suggest')
      const pm = at.filter((r) => r.method === 'protomaml')
      const auto = pm.find((r) => r.auto)
      if (!auto) continue
      const best = pm.reduce((a, r) => (r.mean > a.mean ? r : a))
      const b = refOf(auto)
      const gap = (best.mean - auto.mean) * 100
      checks.push(`- ${model}, ${dataset}, unit, 5-shot, ${auto.episodes} episodes: Proto-MAML on the auto features ${short(auto.tensor)} ${pct(auto.mean, auto.ci95)}; best candidate ${short(best.tensor)} ${pct(best.mean, best.ci95)}: auto is ${gap.toFixed(1)} points below the best (${gap <= 2 ? 'within' : 'NOT within'} 2).`)
      if (b) {
        const [nc, lr] = [paired(auto.perEpisode, b.nc.per_episode), paired(auto.perEpisode, b.lr.per_episode)]
        checks.push(
          `  Proto-MAML − NC ${signed(nc.d)} ± ${nc.ci.toFixed(1)} points (${nc.d >= -1 ? 'holds' : 'FAILS'}: ≥ −1), Proto-MAML − LR ${signed(lr.d)} ± ${lr.ci.toFixed(1)} points (${lr.d >= -2 ? 'holds' : 'FAILS'}: ≥ −2), paired over the same episodes.`
        )
        const bestRef = ref.filter((x) => x.dataset === dataset && x.normalization === 'unit' && x.shots === 5).reduce((a, x) => (x.nc.mean > a.nc.mean ? x : a), b)
        const named = bestRef === b ? 'the auto tensor' : bestRef.tensor_file
        checks.push(`  By the reference's own NC the best tensor is ${named} (${pct(bestRef.nc.mean, bestRef.nc.ci95)}); on the auto tensor NC is ${pct(b.nc.mean, b.nc.ci95)}, LR ${pct(b.lr.mean, b.lr.ci95)}.`)
      }
    }
    // ProtoNet on frozen features is nearest-centroid: on the same episodes the two sides differ only
    // by the features (Metascope's converted graph on onnxruntime vs tfjs predict) and by ties.
    const pairs = ours.rows.filter((r) => r.method === 'protonet' && r.tensorFile).flatMap((r) => {
      const b = refOf(r)
      return b ? [{ r, b }] : []
    })
    if (pairs.length) {
      const episodes = pairs.reduce((a, { r }) => a + r.perEpisode.length, 0)
      const same = pairs.reduce((a, { r, b }) => a + r.perEpisode.filter((x, i) => Math.abs(x - b.nc.per_episode[i]) < 1e-9).length, 0)
      const worst = maxOf(pairs.map(({ r, b }) => Math.abs(r.mean - b.nc.mean) * 100))
      checks.push(`- ${model}: Metascope's ProtoNet vs the reference NC over ${pairs.length} settings: the same query accuracy in ${same} of ${episodes} episodes; largest difference of means ${worst.toFixed(2)} points.`)
    }
    const losses = ours.rows.filter((r) => r.normalization === 'unit' && r.shots === 5 && r.supportLoss)
    if (losses.length) {
      checks.push(`  Support loss (${model}, unit, 5-shot; mean over episodes, before step 1 -> before step ${ours.steps}): ${losses.map((r) => `${r.dataset} ${r.method} ${short(r.tensor)} ${r.supportLoss!.first.toPrecision(3)} -> ${r.supportLoss!.last.toPrecision(3)}`).join('; ')}.`)
    }
    const t = Object.entries(ours.timing).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(0)} s`)
    lines.push(`Timing (${model}, ${ours.threads} thread(s)): ${t.join('; ')}.`, '')
  }
  console.log([...lines, '#### Acceptance (issue #22)', '', ...checks].join('\n'))
}

/** The last path segment of a long graph-model node name. */
function short(tensor: string): string {
  const parts = tensor.split('/')
  return parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : tensor
}

/** "tensor: count" with the tensor shortened. */
function shortPick(p: string): string {
  const i = p.lastIndexOf(': ')
  return `${short(p.slice(0, i))}: ${p.slice(i + 2)}`
}
