import type { AuditFile, AuditImage, AuditSettings, AuditSummary, MethodRow } from '../../../shared/audit'
import { AUDIT_NUMBER_KEYS, AUDIT_VERDICT_KEYS, AUDIT_WHY_KEYS } from '../../../shared/registry/audit-metrics'
import { chosenMetrics } from './metrics'
import { faithList } from './worst'

/**
 * Everything the report shows, from the per-image records alone (in path order). A merged set of
 * shards holds the same records in the same order as one unsharded run, so both give the same summary.
 * Each chosen metric adds its whole-set part and its columns of the method rows; the ranking across
 * metrics is decided here.
 */
export function summarize(args: {
  images: AuditImage[]
  settings: AuditSettings
  labels: string[]
  labelled: boolean
  sanity: AuditFile['sanity']
  worst: AuditFile['worst']
}): AuditSummary {
  const { images, settings } = args
  const ok = images.filter((i) => !i.error && i.methods)
  const metrics = chosenMetrics(settings.metrics)
  const parts: Pick<AuditSummary, 'calibration' | 'sanity' | 'where'> = { calibration: null, sanity: null, where: null }
  for (const m of metrics) Object.assign(parts, m.summarize?.({ ...args, ok }))
  const curves: AuditSummary['curves'] = {}
  const rows = settings.methods.map((method) => {
    const nums = ok.map((i) => i.methods![method]).filter(Boolean)
    const row = {
      method,
      images: nums.length,
      ...Object.fromEntries(AUDIT_NUMBER_KEYS.map((k) => [k, null])),
      rank: 0,
      ...Object.fromEntries(AUDIT_VERDICT_KEYS.map((k) => [k, null])),
      // Every column a saved audit reads back (the schema's defaults) is present from the start.
      ...Object.fromEntries(AUDIT_WHY_KEYS.map((k) => [k, null]))
    } as MethodRow
    const c: AuditSummary['curves'][string] = { deletion: null, insertion: null, roadMorf: null, roadLerf: null }
    for (const m of metrics) m.summarizeMethod?.({ nums, row, curves: c, method, parts })
    curves[method] = c
    return row
  })
  rank(rows)
  return {
    images: ok.length,
    failed: images.length - ok.length,
    methods: rows,
    curves,
    worstFaithfulness: Object.fromEntries(settings.methods.filter((m) => args.worst[faithList(m)]).map((m) => [m, args.worst[faithList(m)]])),
    ...parts
  }
}

/** Rank by what was measured: insertion - deletion (RISE's pair), then the ROAD gap, then the confidence change. */
function rank(rows: MethodRow[]): void {
  const key = (r: MethodRow) => [
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
}
