import { auditClassNames, type AuditFile, type WorstCase } from '../../../shared/audit'
import { camMethodName } from '../../../shared/registry/cam-methods'
import { esc } from './svg-plots'

/** The report's building blocks, shared by its skeleton (report-html.ts) and the metrics' sections. */

export const num = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d))

export function table(header: string[], rows: (string | number)[][], numeric: boolean[] = []): string {
  const head = header.some(Boolean) ? `<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : ''
  return `<table>${head}<tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${typeof c === 'number' ? esc(c) : c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
}

export function cards(cases: WorstCase[], f: AuditFile, scoreName: string, methods: string[]): string {
  if (!cases.length) return '<p class="muted">None.</p>'
  const names = auditClassNames(f)
  const label = (i: number | null) => (i === null ? '–' : esc(names[i] ?? i))
  return `<div class="cards">${cases
    .map(
      (c) => `<div class="card"><div class="pair"><img src="${c.image}" alt="image">${methods
        .filter((m) => c.overlays[m])
        .slice(0, 1)
        .map((m) => `<img src="${c.overlays[m]}" alt="${esc(camMethodName(m))} heatmap">`)
        .join('')}</div><div><b>${esc(c.path)}</b></div><div>label ${label(c.label)} · predicted ${label(c.predicted)} (${num(c.confidence)})</div><div class="muted">${esc(scoreName)} ${num(c.score)}</div></div>`
    )
    .join('')}</div>`
}
