import type { AuditFile, AuditImage, AuditSettings, AuditSummary, SanityImage, SanitySummary, WhereSummary } from '../../../shared/audit'
import { calibrationSummary, type Labelled } from './calibration'
import { sanityVerdict } from './sanity'
import { classLooks, clusterMaps } from './where-it-looks'
import { faithList, MISTAKES, UNSURE } from './worst'

function mean(values: number[]): number | null {
  if (!values.length) return null
  let s = 0
  for (const v of values) s += v
  return s / values.length
}

function meanCurve(curves: number[][]): number[] | null {
  if (!curves.length) return null
  const out = new Array<number>(curves[0].length).fill(0)
  for (const c of curves) for (let i = 0; i < out.length; i++) out[i] += c[i]
  return out.map((v) => v / curves.length)
}

/**
 * Everything the report shows, from the per-image records alone (in path order). A merged set of
 * shards holds the same records in the same order as one unsharded run, so both give the same summary.
 */
export function summarize(args: {
  images: AuditImage[]
  settings: AuditSettings
  labels: string[]
  labelled: boolean
  sanity: AuditFile['sanity']
  worst: AuditFile['worst']
}): AuditSummary {
  const { images, settings, labels } = args
  const ok = images.filter((i) => !i.error && i.methods)
  const want = new Set(settings.metrics)
  const sanity = args.sanity && args.sanity.images.length ? sanitySummary(args.sanity.steps, args.sanity.images, settings.methods) : null
  const curves: AuditSummary['curves'] = {}
  const rows = settings.methods.map((method) => {
    const nums = ok.map((i) => i.methods![method]).filter(Boolean)
    const pick = (f: (n: (typeof nums)[number]) => number | undefined) => nums.map(f).filter((v): v is number => v !== undefined)
    const pickCurve = (f: (n: (typeof nums)[number]) => number[] | undefined) => nums.map(f).filter((v): v is number[] => v !== undefined)
    const roadMorfCurve = meanCurve(pickCurve((n) => n.roadMorf))
    const roadLerfCurve = meanCurve(pickCurve((n) => n.roadLerf))
    curves[method] = {
      deletion: meanCurve(pickCurve((n) => n.deletionCurve)),
      insertion: meanCurve(pickCurve((n) => n.insertionCurve)),
      roadMorf: roadMorfCurve,
      roadLerf: roadLerfCurve
    }
    const roadMorf = roadMorfCurve ? mean(roadMorfCurve) : null
    const roadLerf = roadLerfCurve ? mean(roadLerfCurve) : null
    return {
      method,
      images: nums.length,
      deletion: mean(pick((n) => n.deletion)),
      insertion: mean(pick((n) => n.insertion)),
      roadMorf,
      roadLerf,
      roadGap: roadMorf !== null && roadLerf !== null ? roadLerf - roadMorf : null,
      confidenceChange: mean(pick((n) => n.confidenceChange)),
      rank: 0,
      sanityFlagged: sanity?.methods[method]?.flagged ?? null
    }
  })
  // Rank by what was measured: insertion - deletion (RISE's pair), then the ROAD gap, then the confidence change.
  const key = (r: (typeof rows)[number]) => [
    r.insertion !== null || r.deletion !== null ? (r.insertion ?? 0) - (r.deletion ?? 0) : -Infinity,
    r.roadGap ?? -Infinity,
    r.confidenceChange ?? -Infinity
  ]
  const ranked = [...rows].sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return kb[i] - ka[i]
    return a.method < b.method ? -1 : 1
  })
  ranked.forEach((r, i) => (r.rank = i + 1))

  const labelledRows: Labelled[] = ok
    .filter((i) => i.label !== null && i.predicted !== undefined)
    .map((i) => ({ label: i.label!, predicted: i.predicted!, confidence: i.confidence! }))
  const calibration =
    want.has('calibration') && args.labelled
      ? calibrationSummary(labelledRows, labels, settings.bins, { mistakes: args.worst[MISTAKES] ?? [], unsure: args.worst[UNSURE] ?? [] })
      : null

  return {
    images: ok.length,
    failed: images.length - ok.length,
    methods: rows,
    curves,
    worstFaithfulness: Object.fromEntries(settings.methods.filter((m) => args.worst[faithList(m)]).map((m) => [m, args.worst[faithList(m)]])),
    calibration,
    sanity,
    where: want.has('where') ? whereSummary(ok, settings, labels, args.labelled) : null
  }
}

function sanitySummary(steps: SanitySummary['steps'], images: SanityImage[], methods: string[]): SanitySummary {
  const out: SanitySummary = { images: images.map((i) => i.path), steps, methods: {} }
  for (const m of methods) {
    const per = images.map((i) => i.methods[m]).filter(Boolean)
    if (!per.length) continue
    const spearman = steps.map((_, s) => mean(per.map((p) => p.spearman[s]))!)
    const ssim = steps.map((_, s) => mean(per.map((p) => p.ssim[s]))!)
    out.methods[m] = { spearman, ssim, ...sanityVerdict(spearman[spearman.length - 1], ssim[ssim.length - 1]) }
  }
  return out
}

function whereSummary(ok: AuditImage[], settings: AuditSettings, labels: string[], labelled: boolean): WhereSummary | null {
  const method = settings.methods[0]
  const items = ok
    .filter((i) => i.methods![method]?.small !== undefined)
    .map((i) => {
      const n = i.methods![method]
      return { path: i.path, label: i.label, predicted: i.predicted!, small: n.small!, border: n.border ?? 0, offCentre: n.offCentre ?? 0 }
    })
  if (!items.length) return null
  const groupedBy = labelled ? 'label' : 'predicted'
  const boxed = ok.map((i) => i.methods![method]).filter((n) => n?.pointing !== undefined)
  return {
    method,
    groupedBy,
    classes: classLooks(items, groupedBy, labels),
    clusters: clusterMaps(items, settings.clusters, settings.seed),
    pointing: boxed.length
      ? { images: boxed.length, hitRate: boxed.filter((n) => n.pointing).length / boxed.length, energyInBox: mean(boxed.map((n) => n.energyInBox ?? 0))! }
      : null
  }
}
