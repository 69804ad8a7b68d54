import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { AuditImage, AuditResult } from '../../../shared/audit'
import { regularFile } from '../files/read'
import { readAuditFile } from './merge'
import { auditCsvs } from './audit-csvs'

/** An image record as the Audit view takes it (streamed by the job, or read back): without the small maps the report holds. */
export function viewImage(i: AuditImage): AuditImage {
  return { ...i, methods: i.methods && Object.fromEntries(Object.entries(i.methods).map(([m, n]) => [m, { ...n, small: undefined }])) }
}

/**
 * Reopens a saved audit folder (audit.json, the CSVs, report.html) as the Audit view shows a finished
 * run: the result and the per-image records, read back, nothing recomputed.
 */
export async function reopenAudit(dirArg: string): Promise<{ result: Omit<AuditResult, 'downloadId'>; images: AuditImage[]; files: string[] }> {
  const dir = resolve(dirArg)
  const json = join(dir, 'audit.json')
  await regularFile(json, 'audit')
  const file = await readAuditFile(dir)
  const report = join(dir, 'report.html')
  const csv = Object.keys(auditCsvs(file)).map((n) => join(dir, n)).filter((p) => existsSync(p))
  const images = file.images.map(viewImage)
  const files = [json, ...csv, ...(existsSync(report) ? [report] : [])]
  return { result: { out: dir, report, json, csv, model: file.model, dataset: file.dataset, shard: file.shard, summary: file.summary }, images, files }
}
