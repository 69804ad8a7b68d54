import type { AuditFile } from '../../../shared/audit'
import { AUDIT_COLUMNS } from '../../../shared/registry/audit-metrics'
import { camMethodName } from '../../../shared/registry/cam-methods'
import { chosenMetrics } from './metrics'
import { flaggedBy } from './metrics/sanity'
import { auditCsvs } from './audit-csvs'
import { cards, num, table } from './report-parts'
import { esc } from './svg-plots'

/**
 * The audit report: one self-contained HTML file. Images are data URLs, plots are inline SVG, the
 * style is inline, there is no script and no reference outside the file, so it opens offline, sends
 * no request, and prints to PDF as it looks. Nothing time- or machine-dependent is written into it:
 * the same settings and files give the same report.
 */

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:32px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}.flag{color:#b00;font-weight:600}.ok{color:#070}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots>[data-metric]{display:contents}.plot{border:1px solid #eee;background:#fff;font-size:10px}.plot .t{font-size:12px;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;padding:6px;width:244px;font-size:12px;break-inside:avoid}
.card img{width:112px;height:112px;image-rendering:pixelated;object-fit:contain;background:#eee}.pair{display:flex;gap:6px}
.tiles{display:flex;flex-wrap:wrap;gap:4px}.tiles img{width:56px;height:56px;image-rendering:pixelated}
.heat{width:96px;height:96px;image-rendering:pixelated}code,pre{font-size:12px;background:#f6f6f6}pre{padding:8px;overflow-x:auto;white-space:pre-wrap}
.cm td{min-width:26px;text-align:center;font-size:12px}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}section,.card,table,.plot{break-inside:avoid}a{color:inherit;text-decoration:none}}
`

export async function renderReportHtml(f: AuditFile): Promise<string> {
  const s = f.summary
  const st = f.settings
  const parts: string[] = []
  const title = `Model audit: ${f.model.file}`
  parts.push(`<h1>${esc(title)}</h1><p class="muted">${s.images} image(s) audited${s.failed ? `, ${s.failed} could not be read` : ''}${f.shard ? ` · shard ${f.shard.index} of ${f.shard.count} (partial: merge the shards for the full report)` : ''} · Metascope ${esc(f.software.app)}</p>`)

  parts.push(`<section><h2>Model</h2>${table(
    ['', ''],
    [
      ['file', esc(f.model.file)],
      ['sha256', `<code>${esc(f.model.sha256)}</code>`],
      ['size', `${f.model.bytes} bytes`],
      ['inputs', f.model.inputs.map((i) => `<code>${esc(i.name)}</code> ${esc(i.elemType)} [${esc(i.shape.map((d) => d ?? '?').join(', '))}]`).join('<br>')],
      ['classes', `${f.model.numClasses}: ${esc(f.model.labels.join(', '))}`],
      ['preprocessing', esc(`${f.model.preprocessing.size.join('x')} ${f.model.preprocessing.layout}, ${f.model.preprocessing.channels} channel(s), ${f.model.preprocessing.normalization} normalisation, ${f.model.preprocessing.resize}`)],
      ['CAM layer', `<code>${esc(f.model.layer)}</code>`]
    ]
  )}</section>`)
  parts.push(`<section><h2>Data set</h2>${table(
    ['', ''],
    [
      ['folder', esc(f.dataset.dir)],
      ['images', f.dataset.count],
      ['list sha256', `<code>${esc(f.dataset.listSha256)}</code> <span class="muted">(sorted relative paths with labels)</span>`],
      ['labels', f.dataset.labelled ? 'from class sub-folders' : 'none (unlabelled)']
    ]
  )}<h3>Settings</h3>${table(
    ['', ''],
    // Methods read by name, as the app's menus show them; the id (what the settings file takes) follows.
    Object.entries(st).map(([k, v]) => [
      esc(k),
      k === 'methods' && Array.isArray(v)
        ? v.map((m) => `${esc(camMethodName(String(m)))} <code>${esc(String(m))}</code>`).join(', ')
        : `<code>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</code>`
    ])
  )}</section>`)

  // Faithfulness: the ranking table (a column per registry column), then each chosen metric's plots and sentence.
  const chosen = chosenMetrics(st.metrics)
  const rows = [...s.methods].sort((a, b) => a.rank - b.rank)
  const verdict = (v: boolean | null, by: string[] | null) => (v === null ? '–' : v ? `<span class="flag">flagged${esc(flaggedBy(by))}</span>` : '<span class="ok">passes</span>')
  const faith: string[] = []
  faith.push(
    table(
      ['rank', 'method', 'images', ...AUDIT_COLUMNS.map((c) => (c.kind === 'number' ? `${c.report} ${c.better === 'lower' ? '↓' : '↑'}` : c.report))],
      rows.map((r) => [r.rank, esc(camMethodName(r.method)), r.images, ...AUDIT_COLUMNS.map((c) => (c.kind === 'number' ? num(r[c.key]) : verdict(r[c.key], r[c.why])))]),
      [true, false, true, ...AUDIT_COLUMNS.map((c) => c.kind === 'number')]
    )
  )
  const plots = chosen.flatMap((m) => (m.reportPlots?.(f) ?? []).map((svg) => `<div data-metric="${m.id}">${svg}</div>`))
  if (plots.length) faith.push(`<div class="plots">${plots.join('')}</div>`)
  for (const m of st.methods) {
    const w = s.worstFaithfulness[m]
    if (w?.length) faith.push(`<h3>Least faithful maps: ${esc(camMethodName(m))}</h3><p class="muted">Highest deletion AUC minus insertion AUC: removing what the map marks hardly lowers the probability.</p>${cards(w, f, 'deletion − insertion', [m])}`)
  }
  const notes = chosen.filter((m) => m.reportNote).map((m) => `<span data-metric="${m.id}">${esc(m.reportNote!(st))}</span>`)
  parts.push(`<section><h2>Faithfulness</h2><p class="muted">${notes.join(' ')} Methods ranked by insertion − deletion, then the ROAD gap, then the confidence change.</p>${faith.join('')}</section>`)

  for (const m of chosen) if (m.reportSection) parts.push(await m.reportSection(f))

  parts.push(`<section><h2>Software</h2>${table(
    ['', ''],
    [
      ['Metascope', esc(f.software.app)],
      ['Node.js', esc(f.software.node)],
      ['execution provider', esc(f.software.provider)],
      ...Object.entries(f.software.libraries).map(([k, v]) => [esc(k), esc(v)])
    ]
  )}<p class="muted">Raw numbers: ${esc(['audit.json', ...Object.keys(auditCsvs(f))].join(', '))}.</p></section>`)

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>${parts.join('\n')}</body></html>
`
}
