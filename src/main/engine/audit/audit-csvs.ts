import { auditClassNames, type AuditFile } from '../../../shared/audit'
import { AUDIT_COLUMNS, AUDIT_CSV_COLUMNS } from '../../../shared/registry/audit-metrics'
import { csv } from './csv'
import { ALL_METRICS } from './metrics'

/**
 * The raw numbers as CSV files: name -> content. images.csv, methods.csv and curves.csv have one column
 * (or row kind) per registry metric whether or not it was chosen, so their layout is the same for every
 * audit; a metric's own files (calibration, sanity) are written when it has numbers.
 */
export function auditCsvs(file: AuditFile): Record<string, string> {
  const { settings, summary } = file
  const names = auditClassNames(file)
  const label = (i: number | null | undefined) => (i === null || i === undefined ? '' : names[i])
  const columns = ALL_METRICS.flatMap((m) => m.imageColumns ?? [])
  const out: Record<string, string> = {}
  out['images.csv'] = csv(
    ['path', 'label', 'predicted', 'confidence', 'label_probability', 'error', ...settings.methods.flatMap((m) => ['target', ...columns.map((c) => c.csv)].map((c) => `${m}.${c}`))],
    file.images.map((i) => [
      i.path,
      label(i.label),
      label(i.predicted),
      i.confidence,
      i.labelProbability,
      i.error?.message,
      ...settings.methods.flatMap((m) => {
        const n = i.methods?.[m]
        return n ? [label(n.target), ...columns.map((c) => c.value(n))] : [null, ...columns.map(() => null)]
      })
    ])
  )
  const verdict = (v: unknown) => (v === null || v === undefined ? null : v ? 1 : 0)
  // A verdict's `why` column lists the verdicts that flagged the method, `;`-separated (class-layer;all-layers).
  out['methods.csv'] = csv(
    ['rank', 'method', 'images', ...AUDIT_CSV_COLUMNS],
    [...summary.methods]
      .sort((a, b) => a.rank - b.rank)
      .map((r) => [r.rank, r.method, r.images, ...AUDIT_COLUMNS.flatMap((c) => (c.kind === 'verdict' ? [verdict(r[c.key]), r[c.why]?.join(';') ?? null] : [r[c.key]]))])
  )
  out['curves.csv'] = csv(
    ['method', 'curve', 'x', 'mean_probability'],
    settings.methods.flatMap((m) => ALL_METRICS.flatMap((metric) => (metric.curveRows?.(summary.curves[m], settings) ?? []).map((row) => [m, ...row])))
  )
  for (const metric of ALL_METRICS) Object.assign(out, metric.csvFiles?.(file))
  return out
}
