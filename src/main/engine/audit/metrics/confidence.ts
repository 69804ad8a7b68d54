import { fillMasked } from '../confidence-change'
import { defined, mean, type AuditMetricModule } from './base'

/** Confidence change: p(target | image × map) − p(target | image); a map that keeps what the model uses loses little. */
export const confidence: AuditMetricModule = {
  id: 'confidence',
  *tasks(a, _s, plane, out) {
    yield { target: a.target, fill: (d) => fillMasked(d, a.x, a.map, plane), done: (p) => (out.confidenceChange = p - a.probability) }
  },
  summarizeMethod({ nums, row }) {
    row.confidenceChange = mean(defined(nums, (n) => n.confidenceChange))
  },
  imageColumns: [{ csv: 'confidence_change', value: (n) => n.confidenceChange }],
  reportNote: () => 'Confidence change: p(target | image × map) − p(target | image).'
}
