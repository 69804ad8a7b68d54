import { auditClassNames, type AuditFile } from '../../../../shared/audit'
import { maxOf } from '../../../../shared/stats'
import { calibrationSummary, type Labelled } from '../calibration'
import { csv } from '../csv'
import { cards, num, table } from '../report-parts'
import { esc, reliabilityChart } from '../svg-plots'
import { MISTAKES, UNSURE } from '../worst'
import type { AuditMetricModule } from './base'

/** Accuracy per class, the confusion matrix, the reliability diagram and ECE (needs labels). */
export const calibration: AuditMetricModule = {
  id: 'calibration',
  offers(rec) {
    if (rec.label === null || rec.predicted === undefined) return []
    return rec.predicted === rec.label ? [[UNSURE, 1 - rec.confidence!]] : [[MISTAKES, rec.confidence!]]
  },
  summarize({ ok, labels, labelled, settings, worst }) {
    if (!labelled) return { calibration: null }
    const rows: Labelled[] = ok.filter((i) => i.label !== null && i.predicted !== undefined).map((i) => ({ label: i.label!, predicted: i.predicted!, confidence: i.confidence! }))
    return { calibration: calibrationSummary(rows, labels, settings.bins, { mistakes: worst[MISTAKES] ?? [], unsure: worst[UNSURE] ?? [] }) }
  },
  csvFiles(f): Record<string, string> {
    const cal = f.summary.calibration
    if (!cal) return {}
    const labels = auditClassNames(f)
    return {
      'classes.csv': csv(['index', 'label', 'count', 'correct', 'accuracy'], cal.perClass.map((c) => [c.index, c.label, c.count, c.correct, c.accuracy])),
      'confusion.csv': csv(['true \\ predicted', ...labels], cal.confusion.map((row, i) => [labels[i], ...row])),
      'reliability.csv': csv(['lo', 'hi', 'count', 'accuracy', 'confidence'], cal.bins.map((b) => [b.lo, b.hi, b.count, b.accuracy, b.confidence]))
    }
  },
  reportSection: async (f) => behaviourSection(f)
}

function behaviourSection(f: AuditFile): string {
  const c = f.summary.calibration
  if (!c) return ''
  const st = f.settings
  const labels = auditClassNames(f)
  const max = Math.max(1, maxOf(c.confusion.flat()))
  const cm = `<table class="cm"><thead><tr><th>true \\ predicted</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr></thead><tbody>${c.confusion
    .map((row, i) => `<tr><th>${esc(labels[i])}</th>${row.map((v, j) => `<td style="background:rgba(${i === j ? '31,119,180' : '214,39,40'},${(v / max).toFixed(3)})">${v || ''}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
  return `<section data-metric="calibration"><h2>Model behaviour</h2><p>Accuracy <b>${num(c.accuracy)}</b> on ${c.images} labelled image(s); expected calibration error <b>${num(c.ece)}</b> (${st.bins} bins).</p><div class="plots">${reliabilityChart(c.bins, c.ece)}</div><h3>Accuracy per class</h3>${table(
    ['class', 'images', 'correct', 'accuracy'],
    c.perClass.map((p) => [esc(p.label), p.count, p.correct, num(p.accuracy)]),
    [false, true, true, true]
  )}<h3>Confusion matrix</h3>${cm}<h3>Most confident mistakes</h3>${cards(c.mostConfidentMistakes, f, 'confidence', st.methods)}<h3>Least confident correct</h3>${cards(c.leastConfidentCorrect, f, '1 − confidence', st.methods)}</section>`
}
