import type { AuditFile, WorstCase } from '../../../shared/audit'
import { maxOf } from '../../../shared/stats'
import { colour, esc, lineChart, reliabilityChart } from './svg-plots'
import { gridDataUrl, smallDataUrl } from './thumbs'
import { camMethodName } from '../../../shared/registry/cam-methods'

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
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #eee;background:#fff;font-size:10px}.plot .t{font-size:12px;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;padding:6px;width:244px;font-size:12px;break-inside:avoid}
.card img{width:112px;height:112px;image-rendering:pixelated;object-fit:contain;background:#eee}.pair{display:flex;gap:6px}
.tiles{display:flex;flex-wrap:wrap;gap:4px}.tiles img{width:56px;height:56px;image-rendering:pixelated}
.heat{width:96px;height:96px;image-rendering:pixelated}code,pre{font-size:12px;background:#f6f6f6}pre{padding:8px;overflow-x:auto;white-space:pre-wrap}
.cm td{min-width:26px;text-align:center;font-size:12px}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}section,.card,table,.plot{break-inside:avoid}a{color:inherit;text-decoration:none}}
`

const num = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d))

function table(header: string[], rows: (string | number)[][], numeric: boolean[] = []): string {
  const head = header.some(Boolean) ? `<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : ''
  return `<table>${head}<tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${typeof c === 'number' ? esc(c) : c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
}

function cards(cases: WorstCase[], f: AuditFile, scoreName: string, methods: string[]): string {
  if (!cases.length) return '<p class="muted">None.</p>'
  const label = (i: number | null) => (i === null ? '–' : esc(f.model.labels[i] ?? i))
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
    Object.entries(st).map(([k, v]) => [esc(k), `<code>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</code>`])
  )}</section>`)

  // Faithfulness.
  const rows = [...s.methods].sort((a, b) => a.rank - b.rank)
  const faith: string[] = []
  faith.push(
    table(
      ['rank', 'method', 'images', 'deletion AUC ↓', 'insertion AUC ↑', 'ROAD MoRF ↓', 'ROAD LeRF ↑', 'ROAD gap ↑', 'confidence change ↑', 'sanity'],
      rows.map((r) => [
        r.rank,
        esc(camMethodName(r.method)),
        r.images,
        num(r.deletion),
        num(r.insertion),
        num(r.roadMorf),
        num(r.roadLerf),
        num(r.roadGap),
        num(r.confidenceChange),
        r.sanityFlagged === null ? '–' : r.sanityFlagged ? '<span class="flag">flagged</span>' : '<span class="ok">passes</span>'
      ]),
      [true, false, true, true, true, true, true, true, true, false]
    )
  )
  const plots: string[] = []
  const curveSeries = (k: 'deletion' | 'insertion') =>
    st.methods.flatMap((m, i) => {
      const c = s.curves[m]?.[k]
      return c ? [{ name: camMethodName(m), xs: c.map((_, j) => j / st.steps), ys: c, colour: colour(i) }] : []
    })
  for (const k of ['deletion', 'insertion'] as const) {
    const series = curveSeries(k)
    if (series.length) plots.push(lineChart({ title: `${k[0].toUpperCase()}${k.slice(1)} (${st.baseline} baseline)`, xLabel: `fraction of pixels ${k === 'deletion' ? 'removed' : 'inserted'}`, yLabel: 'p(target)', series, legend: k === 'insertion' ? 'bottom' : 'top' }))
  }
  const road = st.methods.flatMap((m, i) => {
    const c = s.curves[m]
    const xs = st.roadPercentiles.map((p) => p / 100)
    return [
      ...(c?.roadMorf ? [{ name: `${camMethodName(m)} MoRF`, xs, ys: c.roadMorf, colour: colour(i) }] : []),
      ...(c?.roadLerf ? [{ name: `${camMethodName(m)} LeRF`, xs, ys: c.roadLerf, colour: colour(i), dashed: true }] : [])
    ]
  })
  if (road.length) plots.push(lineChart({ title: 'ROAD (noisy linear imputation)', xLabel: 'fraction of pixels removed', yLabel: 'p(target)', series: road }))
  if (plots.length) faith.push(`<div class="plots">${plots.join('')}</div>`)
  for (const m of st.methods) {
    const w = s.worstFaithfulness[m]
    if (w?.length) faith.push(`<h3>Least faithful maps: ${esc(camMethodName(m))}</h3><p class="muted">Highest deletion AUC minus insertion AUC: removing what the map marks hardly lowers the probability.</p>${cards(w, f, 'deletion − insertion', [m])}`)
  }
  parts.push(
    `<section><h2>Faithfulness</h2><p class="muted">Deletion/insertion (Petsiuk et al. 2018): p(target) as the most relevant pixels are removed (replaced by the ${esc(st.baseline)} baseline) or inserted into it, ${st.steps} steps; areas under the curves. ROAD (Rong et al. 2022): p(target) after removing the most (MoRF) or least (LeRF) relevant ${esc(st.roadPercentiles.join(', '))}% of pixels, imputed from their neighbours plus noise σ=${st.roadNoise}. Confidence change: p(target | image × map) − p(target | image). Methods ranked by insertion − deletion.</p>${faith.join('')}</section>`
  )

  if (s.sanity) {
    const san = s.sanity
    // Step 0 is the trained model itself (similarity 1), so each line starts from where it should.
    const xs = [0, ...san.steps.map((_, i) => i + 1)]
    const ms = Object.keys(san.methods)
    const splot = (k: 'spearman' | 'ssim') =>
      lineChart({ title: k === 'spearman' ? 'Spearman rank correlation' : 'SSIM', xLabel: 'layers randomised (cascade step, top first)', yLabel: 'similarity to original', x: [0, san.steps.length], y: [-1, 1], series: ms.map((m, i) => ({ name: camMethodName(m), xs, ys: [1, ...san.methods[m][k]], colour: colour(i) })) })
    parts.push(
      `<section><h2>Sanity check: model parameter randomisation</h2><p class="muted">Adebayo et al. 2018: the weights are re-drawn layer by layer from the top; maps that stay similar to the originals do not depend on what the model learned. ${san.images.length} image(s): ${esc(san.images.join(', '))}.</p><div class="plots">${splot('spearman')}${splot('ssim')}</div>${table(
        ['step', 'layers randomised', 'down to'],
        san.steps.map((x, i) => [i + 1, x.layersRandomised, `<code>${esc(x.layer)}</code>`]),
        [true, true, false]
      )}${ms.map((m) => `<p>${esc(camMethodName(m))}: ${san.methods[m].flagged ? '<span class="flag">flagged</span>' : '<span class="ok">passes</span>'} — ${esc(san.methods[m].reason)}.</p>`).join('')}</section>`
    )
  }

  if (s.calibration) {
    const c = s.calibration
    const labels = f.model.labels
    const max = Math.max(1, maxOf(c.confusion.flat()))
    const cm = `<table class="cm"><thead><tr><th>true \\ predicted</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr></thead><tbody>${c.confusion
      .map((row, i) => `<tr><th>${esc(labels[i])}</th>${row.map((v, j) => `<td style="background:rgba(${i === j ? '31,119,180' : '214,39,40'},${(v / max).toFixed(3)})">${v || ''}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`
    parts.push(
      `<section><h2>Model behaviour</h2><p>Accuracy <b>${num(c.accuracy)}</b> on ${c.images} labelled image(s); expected calibration error <b>${num(c.ece)}</b> (${st.bins} bins).</p><div class="plots">${reliabilityChart(c.bins, c.ece)}</div><h3>Accuracy per class</h3>${table(
        ['class', 'images', 'correct', 'accuracy'],
        c.perClass.map((p) => [esc(p.label), p.count, p.correct, num(p.accuracy)]),
        [false, true, true, true]
      )}<h3>Confusion matrix</h3>${cm}<h3>Most confident mistakes</h3>${cards(c.mostConfidentMistakes, f, 'confidence', st.methods)}<h3>Least confident correct</h3>${cards(c.leastConfidentCorrect, f, '1 − confidence', st.methods)}</section>`
    )
  }

  if (s.where) {
    const w = s.where
    const classes = await Promise.all(
      w.classes.map(async (k) => `<div class="card"><img class="heat" src="${await gridDataUrl(k.mean)}" alt="mean map ${esc(k.label)}"><div><b>${esc(k.label)}</b> (${k.count})</div><div>border ${num(k.border)} · off-centre ${num(k.offCentre)}</div></div>`)
    )
    const clusters = await Promise.all(
      w.clusters.map(
        async (g, i) =>
          `<h3>Group ${i + 1}: ${g.size} image(s), border mass ${num(g.border)}</h3><div class="tiles"><img class="heat" src="${await gridDataUrl(g.centroid)}" alt="group ${i + 1} centre">${(
            await Promise.all(g.members.map(async (m) => `<img src="${await smallDataUrl(m.small)}" alt="${esc(m.path)}" title="${esc(`${m.path}: predicted ${f.model.labels[m.predicted] ?? m.predicted}`)}">`))
          ).join('')}</div><p class="muted">${esc(g.members.map((m) => m.path).join(', '))}</p>`
      )
    )
    parts.push(
      `<section><h2>Where does it look (${esc(camMethodName(w.method))})</h2><p class="muted">Mean map per ${w.groupedBy === 'label' ? 'labelled' : 'predicted'} class (16×16), and the share of map mass on the border band (outer 10% of each side) and outside the central half. A shortcut (a watermark, the background) shows up as mass away from the object and as its own group below.</p><div class="cards">${classes.join('')}</div>${
        w.pointing ? `<p>Pointing game: ${num(w.pointing.hitRate)} hit rate, energy in box ${num(w.pointing.energyInBox)} over ${w.pointing.images} boxed image(s).</p>` : ''
      }<h3>Groups of similar maps (k-means, k=${st.clusters})</h3>${clusters.join('')}</section>`
    )
  }

  parts.push(`<section><h2>Software</h2>${table(
    ['', ''],
    [
      ['Metascope', esc(f.software.app)],
      ['Node.js', esc(f.software.node)],
      ['execution provider', esc(f.software.provider)],
      ...Object.entries(f.software.libraries).map(([k, v]) => [esc(k), esc(v)])
    ]
  )}<p class="muted">Raw numbers: audit.json, images.csv, methods.csv, curves.csv${s.calibration ? ', classes.csv, confusion.csv, reliability.csv' : ''}${s.sanity ? ', sanity.csv' : ''}.</p></section>`)

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>${parts.join('\n')}</body></html>
`
}
