import { join } from 'node:path'
import { AuditFile, type AuditResult } from '../../../shared/audit'
import { prepareOutputDir } from '../files/output-dir'
import { writeFileAtomic } from '../files/safe-write'
import { renderReportHtml } from './report-html'

/** One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
function field(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function csv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\n') + '\n'
}

/** The raw numbers as CSV files: name -> content. */
export function auditCsvs(file: AuditFile): Record<string, string> {
  const { settings, summary, model } = file
  const label = (i: number | null | undefined) => (i === null || i === undefined ? '' : model.labels[i])
  const out: Record<string, string> = {}
  const perMethod = ['target', 'deletion', 'insertion', 'road_morf_mean', 'road_lerf_mean', 'confidence_change', 'border', 'off_centre', 'pointing', 'energy_in_box']
  const meanOf = (a?: number[]) => (a && a.length ? a.reduce((p, v) => p + v, 0) / a.length : null)
  out['images.csv'] = csv(
    ['path', 'label', 'predicted', 'confidence', 'label_probability', 'error', ...settings.methods.flatMap((m) => perMethod.map((c) => `${m}.${c}`))],
    file.images.map((i) => [
      i.path,
      label(i.label),
      label(i.predicted),
      i.confidence,
      i.labelProbability,
      i.error?.message,
      ...settings.methods.flatMap((m) => {
        const n = i.methods?.[m]
        return n
          ? [label(n.target), n.deletion, n.insertion, meanOf(n.roadMorf), meanOf(n.roadLerf), n.confidenceChange, n.border, n.offCentre, n.pointing === undefined ? null : n.pointing ? 1 : 0, n.energyInBox]
          : perMethod.map(() => null)
      })
    ])
  )
  out['methods.csv'] = csv(
    ['rank', 'method', 'images', 'deletion_auc', 'insertion_auc', 'road_morf', 'road_lerf', 'road_gap', 'confidence_change', 'sanity_flagged'],
    [...summary.methods].sort((a, b) => a.rank - b.rank).map((r) => [r.rank, r.method, r.images, r.deletion, r.insertion, r.roadMorf, r.roadLerf, r.roadGap, r.confidenceChange, r.sanityFlagged === null ? null : r.sanityFlagged ? 1 : 0])
  )
  out['curves.csv'] = csv(
    ['method', 'curve', 'x', 'mean_probability'],
    settings.methods.flatMap((m) => {
      const c = summary.curves[m]
      if (!c) return []
      const rows: unknown[][] = []
      c.deletion?.forEach((v, i) => rows.push([m, 'deletion', i / settings.steps, v]))
      c.insertion?.forEach((v, i) => rows.push([m, 'insertion', i / settings.steps, v]))
      c.roadMorf?.forEach((v, i) => rows.push([m, 'road_morf', settings.roadPercentiles[i] / 100, v]))
      c.roadLerf?.forEach((v, i) => rows.push([m, 'road_lerf', settings.roadPercentiles[i] / 100, v]))
      return rows
    })
  )
  if (summary.calibration) {
    const cal = summary.calibration
    out['classes.csv'] = csv(['index', 'label', 'count', 'correct', 'accuracy'], cal.perClass.map((c) => [c.index, c.label, c.count, c.correct, c.accuracy]))
    out['confusion.csv'] = csv(['true \\ predicted', ...model.labels], cal.confusion.map((row, i) => [model.labels[i], ...row]))
    out['reliability.csv'] = csv(['lo', 'hi', 'count', 'accuracy', 'confidence'], cal.bins.map((b) => [b.lo, b.hi, b.count, b.accuracy, b.confidence]))
  }
  if (summary.sanity) {
    const san = summary.sanity
    out['sanity.csv'] = csv(
      ['method', 'step', 'layer', 'layers_randomised', 'spearman', 'ssim'],
      Object.entries(san.methods).flatMap(([m, v]) => san.steps.map((st, i) => [m, i + 1, st.layer, st.layersRandomised, v.spearman[i], v.ssim[i]]))
    )
  }
  return out
}

/** Writes audit.json, the CSVs and report.html into `dir` (each atomically). */
export async function writeAudit(audit: AuditFile, dir: string): Promise<Omit<AuditResult, 'model' | 'dataset' | 'shard' | 'summary'>> {
  // Through the schema, so keys come out in one order whether the file was just computed or read back (merge).
  const file = AuditFile.parse(audit)
  const out = await prepareOutputDir(dir, 'out')
  const json = join(out, 'audit.json')
  await writeFileAtomic(json, JSON.stringify(file) + '\n')
  const csvPaths: string[] = []
  for (const [name, content] of Object.entries(auditCsvs(file))) {
    const p = join(out, name)
    await writeFileAtomic(p, content)
    csvPaths.push(p)
  }
  const report = join(out, 'report.html')
  await writeFileAtomic(report, await renderReportHtml(file))
  return { out, report, json, csv: csvPaths }
}
