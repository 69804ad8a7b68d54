import { join } from 'node:path'
import { AuditFile, type AuditResult } from '../../../shared/audit'
import { prepareOutputDir } from '../files/output-dir'
import { writeFileAtomic } from '../files/safe-write'
import { auditCsvs } from './audit-csvs'
import { renderReportHtml } from './report-html'

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
