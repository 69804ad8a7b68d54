import { camMethodName } from '../../../../shared/registry/cam-methods'
import { auc, fillStep } from '../deletion-insertion'
import { colour, lineChart } from '../svg-plots'
import { defined, mean, meanCurve, type AuditMetricModule } from './base'

/**
 * Deletion and insertion (Petsiuk et al. 2018, RISE): the same curve read in two directions, so both
 * metrics are made here. Deletion replaces the most relevant pixels of the image by the baseline's;
 * insertion copies them from the image into the baseline.
 */
export function areaCurveMetric(kind: 'deletion' | 'insertion'): AuditMetricModule {
  const curveKey = kind === 'deletion' ? 'deletionCurve' : 'insertionCurve'
  return {
    id: kind,
    *tasks(a, s, plane, out) {
      const curve = new Array<number>(s.steps + 1).fill(0)
      let left = s.steps + 1
      for (let i = 0; i <= s.steps; i++) {
        yield {
          target: a.target,
          fill: (d) => (kind === 'deletion' ? fillStep(d, a.x, a.baseline(), a.order(), i, s.steps, plane) : fillStep(d, a.baseline(), a.x, a.order(), i, s.steps, plane)),
          done: (p) => {
            curve[i] = p
            left -= 1
            if (left === 0) {
              out[kind] = auc(curve)
              out[curveKey] = curve
            }
          }
        }
      }
    },
    summarizeMethod({ nums, row, curves }) {
      curves[kind] = meanCurve(defined(nums, (n) => n[curveKey]))
      row[kind] = mean(defined(nums, (n) => n[kind]))
    },
    imageColumns: [{ csv: kind, value: (n) => n[kind] }],
    curveRows: (c, s) => (c?.[kind] ?? []).map((v, i) => [kind, i / s.steps, v]),
    reportNote: (s) =>
      kind === 'deletion'
        ? `Deletion (Petsiuk et al. 2018): p(target) as the most relevant pixels are replaced by the ${s.baseline} baseline, ${s.steps} steps; area under the curve.`
        : `Insertion (Petsiuk et al. 2018): p(target) as the most relevant pixels are inserted into the ${s.baseline} baseline, ${s.steps} steps; area under the curve.`,
    reportPlots(f) {
      const st = f.settings
      const series = st.methods.flatMap((m, i) => {
        const c = f.summary.curves[m]?.[kind]
        return c ? [{ name: camMethodName(m), xs: c.map((_, j) => j / st.steps), ys: c, colour: colour(i) }] : []
      })
      if (!series.length) return []
      const title = `${kind === 'deletion' ? 'Deletion' : 'Insertion'} (${st.baseline} baseline)`
      return [lineChart({ title, xLabel: `fraction of pixels ${kind === 'deletion' ? 'removed' : 'inserted'}`, yLabel: 'p(target)', series, legend: kind === 'insertion' ? 'bottom' : 'top' })]
    }
  }
}
