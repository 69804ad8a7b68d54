/**
 * Small inline SVG plots for the report: no library, no script, no external reference (the report
 * must open offline and print). Every text is escaped.
 */

export const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']
export const colour = (i: number) => PALETTE[i % PALETTE.length]

export interface Series {
  name: string
  xs: number[]
  ys: number[]
  dashed?: boolean
  colour?: string
}

const W = 420
const H = 260
const M = { l: 48, r: 12, t: 24, b: 40 }

const fmt = (v: number) => (Number.isInteger(v) || Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2).replace(/0$/, ''))

function axes(title: string, xLabel: string, yLabel: string, x0: number, x1: number, y0: number, y1: number): string {
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * (W - M.l - M.r)
  const py = (y: number) => H - M.b - ((y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b)
  const ticks = [0, 0.25, 0.5, 0.75, 1]
  let s = `<text x="${W / 2}" y="15" text-anchor="middle" class="t">${esc(title)}</text>`
  s += `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`
  for (const t of ticks) {
    const xv = x0 + t * (x1 - x0)
    const yv = y0 + t * (y1 - y0)
    s += `<line x1="${px(xv)}" y1="${H - M.b}" x2="${px(xv)}" y2="${H - M.b + 4}" stroke="#333"/><text x="${px(xv)}" y="${H - M.b + 15}" text-anchor="middle">${fmt(xv)}</text>`
    s += `<line x1="${M.l - 4}" y1="${py(yv)}" x2="${M.l}" y2="${py(yv)}" stroke="#333"/><text x="${M.l - 6}" y="${py(yv) + 3}" text-anchor="end">${fmt(yv)}</text>`
    s += `<line x1="${M.l}" y1="${py(yv)}" x2="${W - M.r}" y2="${py(yv)}" stroke="#eee"/>`
  }
  s += `<text x="${W / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`
  s += `<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${esc(yLabel)}</text>`
  return s
}

function frame(body: string, label: string): string {
  return `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">${body}</svg>`
}

/** `legend: 'bottom'` keeps the legend off rising curves (insertion). */
export function lineChart(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; x?: [number, number]; y?: [number, number]; legend?: 'top' | 'bottom' }): string {
  const [x0, x1] = opts.x ?? [0, 1]
  const [y0, y1] = opts.y ?? [0, 1]
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * (W - M.l - M.r)
  const py = (y: number) => H - M.b - ((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0 || 1)) * (H - M.t - M.b)
  let body = axes(opts.title, opts.xLabel, opts.yLabel, x0, x1, y0, y1)
  opts.series.forEach((s, i) => {
    const c = s.colour ?? colour(i)
    const pts = s.xs.map((x, j) => `${px(x).toFixed(1)},${py(s.ys[j]).toFixed(1)}`).join(' ')
    body += `<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts}"/>`
    const ly = opts.legend === 'bottom' ? H - M.b - 8 - (opts.series.length - 1 - i) * 13 : M.t + 6 + i * 13
    body += `<line x1="${W - M.r - 120}" y1="${ly}" x2="${W - M.r - 104}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${W - M.r - 100}" y="${ly + 4}">${esc(s.name)}</text>`
  })
  return frame(body, opts.title)
}

/** Reliability diagram: accuracy per confidence bin as bars, the diagonal as perfect calibration. */
export function reliabilityChart(bins: { lo: number; hi: number; count: number; accuracy: number | null; confidence: number | null }[], ece: number): string {
  const px = (x: number) => M.l + x * (W - M.l - M.r)
  const py = (y: number) => H - M.b - y * (H - M.t - M.b)
  let body = axes(`Reliability (ECE ${ece.toFixed(3)})`, 'confidence', 'accuracy', 0, 1, 0, 1)
  for (const b of bins) {
    if (!b.count) continue
    body += `<rect x="${px(b.lo) + 1}" y="${py(b.accuracy!)}" width="${px(b.hi) - px(b.lo) - 2}" height="${py(0) - py(b.accuracy!)}" fill="#1f77b4" opacity="0.8"><title>${esc(`${b.lo.toFixed(2)}-${b.hi.toFixed(2)}: ${b.count} images, accuracy ${b.accuracy!.toFixed(3)}, mean confidence ${b.confidence!.toFixed(3)}`)}</title></rect>`
    body += `<circle cx="${(px(b.lo) + px(b.hi)) / 2}" cy="${py(b.confidence!)}" r="3" fill="#d62728"/>`
  }
  body += `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#777" stroke-dasharray="4 3"/>`
  body += `<rect x="${M.l + 8}" y="${M.t + 2}" width="10" height="10" fill="#1f77b4"/><text x="${M.l + 22}" y="${M.t + 11}">accuracy</text><circle cx="${M.l + 13}" cy="${M.t + 21}" r="3" fill="#d62728"/><text x="${M.l + 22}" y="${M.t + 24}">mean confidence</text>`
  return frame(body, 'Reliability diagram')
}
