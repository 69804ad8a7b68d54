import { axisTicks, compactLabel, inset, plotFrame, polylinePoints, reliabilityBars, seriesColour, ticks, xScale, yScale, zipPoints, type Tick } from '../../../shared/plot'

/**
 * Small inline SVG plots for the report: no library, no script, no external reference (the report
 * must open offline and print). Every text is escaped. The geometry comes from the plotting kit the
 * app's plots use (src/shared/plot); this file only writes it out as SVG.
 */

export const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

export const colour = seriesColour

export interface Series {
  name: string
  xs: number[]
  ys: number[]
  dashed?: boolean
  colour?: string
}

const { width: W, height: H, box } = plotFrame(420, 260, { left: 48, right: 12, top: 24, bottom: 40 })
const right = box.left + box.width
const bottom = box.top + box.height

/** Five ticks from end to end of each axis. */
const axisAt = (domain: [number, number], scale: (v: number) => number): Tick[] => axisTicks(ticks(domain[0], domain[1], 5), scale, compactLabel)

// Grid lines go under the axis lines (the bottom grid line used to cover the x axis).
function axes(title: string, xLabel: string, yLabel: string, xt: Tick[], yt: Tick[]): string {
  let s = `<text x="${W / 2}" y="15" text-anchor="middle" class="t">${esc(title)}</text>`
  for (const t of yt) s += `<line x1="${box.left}" y1="${t.at}" x2="${right}" y2="${t.at}" stroke="#eee"/>`
  s += `<line x1="${box.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/><line x1="${box.left}" y1="${box.top}" x2="${box.left}" y2="${bottom}" stroke="#333"/>`
  for (const t of xt) s += `<line x1="${t.at}" y1="${bottom}" x2="${t.at}" y2="${bottom + 4}" stroke="#333"/><text x="${t.at}" y="${bottom + 15}" text-anchor="middle">${esc(t.label)}</text>`
  for (const t of yt) s += `<line x1="${box.left - 4}" y1="${t.at}" x2="${box.left}" y2="${t.at}" stroke="#333"/><text x="${box.left - 6}" y="${t.at + 3}" text-anchor="end">${esc(t.label)}</text>`
  s += `<text x="${W / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`
  s += `<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${esc(yLabel)}</text>`
  return s
}

function frame(body: string, label: string): string {
  return `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">${body}</svg>`
}

/** `legend: 'bottom'` keeps the legend off rising curves (insertion). Values beyond `y` are drawn at its ends. */
export function lineChart(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; x?: [number, number]; y?: [number, number]; legend?: 'top' | 'bottom' }): string {
  const xDomain = opts.x ?? [0, 1]
  const yDomain = opts.y ?? [0, 1]
  const x = xScale(box, xDomain)
  const y = yScale(box, yDomain, true)
  let body = axes(opts.title, opts.xLabel, opts.yLabel, axisAt(xDomain, x), axisAt(yDomain, y))
  opts.series.forEach((s, i) => {
    const c = s.colour ?? colour(i)
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : ''
    body += `<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${polylinePoints(zipPoints(s.xs, s.ys), x, y)}"/>`
    const ly = opts.legend === 'bottom' ? bottom - 8 - (opts.series.length - 1 - i) * 13 : box.top + 6 + i * 13
    body += `<line x1="${right - 120}" y1="${ly}" x2="${right - 104}" y2="${ly}" stroke="${c}" stroke-width="2"${dash}/><text x="${right - 100}" y="${ly + 4}">${esc(s.name)}</text>`
  })
  return frame(body, opts.title)
}

/** Reliability diagram: accuracy per confidence bin as bars, the diagonal as perfect calibration. */
export function reliabilityChart(bins: { lo: number; hi: number; count: number; accuracy: number | null; confidence: number | null }[], ece: number): string {
  const x = xScale(box)
  const y = yScale(box)
  let body = axes(`Reliability (ECE ${ece.toFixed(3)})`, 'confidence', 'accuracy', axisAt([0, 1], x), axisAt([0, 1], y))
  for (const b of reliabilityBars(bins, box)) {
    const r = inset(b.bar, 1)
    body += `<rect x="${r.left}" y="${r.top}" width="${r.width}" height="${r.height}" fill="#1f77b4" opacity="0.8"><title>${esc(`${b.lo.toFixed(2)}-${b.hi.toFixed(2)}: ${b.count} images, accuracy ${b.accuracy.toFixed(3)}, mean confidence ${b.confidence.toFixed(3)}`)}</title></rect>`
    body += `<circle cx="${b.marker.x}" cy="${b.marker.y}" r="3" fill="#d62728"/>`
  }
  body += `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#777" stroke-dasharray="4 3"/>`
  body += `<rect x="${box.left + 8}" y="${box.top + 2}" width="10" height="10" fill="#1f77b4"/><text x="${box.left + 22}" y="${box.top + 11}">accuracy</text><circle cx="${box.left + 13}" cy="${box.top + 21}" r="3" fill="#d62728"/><text x="${box.left + 22}" y="${box.top + 24}">mean confidence</text>`
  return frame(body, 'Reliability diagram')
}
