import { auditClassNames, type AuditFile, type AuditImage, type AuditSettings, type WhereSummary } from '../../../../shared/audit'
import { camMethodName } from '../../../../shared/registry/cam-methods'
import { num } from '../report-parts'
import { esc } from '../svg-plots'
import { gridDataUrl, smallDataUrl } from '../thumbs'
import { boxScores, classLooks, clusterMaps, encodeSmall, massShares, smallMap } from '../where-it-looks'
import { mean, type AuditMetricModule } from './base'

/** Where the model looks: per-class mean maps, map mass on the border and off-centre, groups of similar maps, the pointing game. */
export const where: AuditMetricModule = {
  id: 'where',
  fromMap({ map, height, width, box }, out) {
    Object.assign(out, massShares(map, height, width))
    out.small = encodeSmall(smallMap(map, height, width))
    if (box) Object.assign(out, boxScores(map, height, width, box))
  },
  summarize: ({ ok, settings, labels, labelled }) => ({ where: whereSummary(ok, settings, labels, labelled) }),
  imageColumns: [
    { csv: 'border', value: (n) => n.border },
    { csv: 'off_centre', value: (n) => n.offCentre },
    { csv: 'pointing', value: (n) => (n.pointing === undefined ? null : n.pointing ? 1 : 0) },
    { csv: 'energy_in_box', value: (n) => n.energyInBox }
  ],
  reportSection: whereSection
}

function whereSummary(ok: AuditImage[], settings: AuditSettings, labels: string[], labelled: boolean): WhereSummary | null {
  const method = settings.methods[0]
  const items = ok
    .filter((i) => i.methods![method]?.small !== undefined)
    .map((i) => {
      const n = i.methods![method]
      return { path: i.path, label: i.label, predicted: i.predicted!, small: n.small!, border: n.border ?? 0, offCentre: n.offCentre ?? 0 }
    })
  if (!items.length) return null
  const groupedBy = labelled ? 'label' : 'predicted'
  const boxed = ok.map((i) => i.methods![method]).filter((n) => n?.pointing !== undefined)
  return {
    method,
    groupedBy,
    classes: classLooks(items, groupedBy, labels),
    clusters: clusterMaps(items, settings.clusters, settings.seed),
    pointing: boxed.length
      ? { images: boxed.length, hitRate: boxed.filter((n) => n.pointing).length / boxed.length, energyInBox: mean(boxed.map((n) => n.energyInBox ?? 0))! }
      : null
  }
}

async function whereSection(f: AuditFile): Promise<string> {
  const w = f.summary.where
  if (!w) return ''
  const names = auditClassNames(f)
  const classes = await Promise.all(
    w.classes.map(async (k) => `<div class="card"><img class="heat" src="${await gridDataUrl(k.mean)}" alt="mean map ${esc(k.label)}"><div><b>${esc(k.label)}</b> (${k.count})</div><div>border ${num(k.border)} · off-centre ${num(k.offCentre)}</div></div>`)
  )
  const clusters = await Promise.all(
    w.clusters.map(
      async (g, i) =>
        `<h3>Group ${i + 1}: ${g.size} image(s), border mass ${num(g.border)}</h3><div class="tiles"><img class="heat" src="${await gridDataUrl(g.centroid)}" alt="group ${i + 1} centre">${(
          await Promise.all(g.members.map(async (m) => `<img src="${await smallDataUrl(m.small)}" alt="${esc(m.path)}" title="${esc(`${m.path}: predicted ${names[m.predicted] ?? m.predicted}`)}">`))
        ).join('')}</div><p class="muted">${esc(g.members.map((m) => m.path).join(', '))}</p>`
    )
  )
  return `<section data-metric="where"><h2>Where does it look (${esc(camMethodName(w.method))})</h2><p class="muted">Mean map per ${w.groupedBy === 'label' ? 'labelled' : 'predicted'} class (16×16), and the share of map mass on the border band (outer 10% of each side) and outside the central half. A shortcut (a watermark, the background) shows up as mass away from the object and as its own group below.</p><div class="cards">${classes.join('')}</div>${
    w.pointing ? `<p>Pointing game: ${num(w.pointing.hitRate)} hit rate, energy in box ${num(w.pointing.energyInBox)} over ${w.pointing.images} boxed image(s).</p>` : ''
  }<h3>Groups of similar maps (k-means, k=${f.settings.clusters})</h3>${clusters.join('')}</section>`
}
