import { camMethodName } from '../../../../shared/registry/cam-methods'
import { relevanceOrder, seedOf } from '../pixels'
import { roadCount, roadInput } from '../road'
import { colour, lineChart } from '../svg-plots'
import { defined, mean, meanCurve, type AuditMetricModule } from './base'

const meanOf = (a?: number[]) => (a && a.length ? a.reduce((p, v) => p + v, 0) / a.length : null)

/** ROAD (Rong et al. 2022): p(target) after removing the most (MoRF) or least (LeRF) relevant pixels, imputed. */
export const road: AuditMetricModule = {
  id: 'road',
  *tasks(a, s, plane, out) {
    const area = plane.height * plane.width
    const least = relevanceOrder(a.map, true)
    const morf = new Array<number>(s.roadPercentiles.length).fill(0)
    const lerf = new Array<number>(s.roadPercentiles.length).fill(0)
    out.roadMorf = morf
    out.roadLerf = lerf
    for (const [pi, pct] of s.roadPercentiles.entries()) {
      for (const [dir, ord, values] of [['morf', a.order(), morf], ['lerf', least, lerf]] as const) {
        yield {
          target: a.target,
          fill: (d) => d.set(roadInput(a.x, ord, roadCount(pct, area), plane, s.roadNoise, seedOf(s.seed, a.path, a.method, pct, dir))),
          done: (p) => (values[pi] = p)
        }
      }
    }
  },
  summarizeMethod({ nums, row, curves }) {
    curves.roadMorf = meanCurve(defined(nums, (n) => n.roadMorf))
    curves.roadLerf = meanCurve(defined(nums, (n) => n.roadLerf))
    row.roadMorf = curves.roadMorf ? mean(curves.roadMorf) : null
    row.roadLerf = curves.roadLerf ? mean(curves.roadLerf) : null
    row.roadGap = row.roadMorf !== null && row.roadLerf !== null ? row.roadLerf - row.roadMorf : null
  },
  imageColumns: [
    { csv: 'road_morf_mean', value: (n) => meanOf(n.roadMorf) },
    { csv: 'road_lerf_mean', value: (n) => meanOf(n.roadLerf) }
  ],
  curveRows: (c, s) => [
    ...(c?.roadMorf ?? []).map((v, i): [string, number, number] => ['road_morf', s.roadPercentiles[i] / 100, v]),
    ...(c?.roadLerf ?? []).map((v, i): [string, number, number] => ['road_lerf', s.roadPercentiles[i] / 100, v])
  ],
  reportNote: (s) =>
    `ROAD (Rong et al. 2022): p(target) after removing the most (MoRF) or least (LeRF) relevant ${s.roadPercentiles.join(', ')}% of pixels, imputed from their neighbours plus noise σ=${s.roadNoise}.`,
  reportPlots(f) {
    const st = f.settings
    const xs = st.roadPercentiles.map((p) => p / 100)
    const series = st.methods.flatMap((m, i) => {
      const c = f.summary.curves[m]
      return [
        ...(c?.roadMorf ? [{ name: `${camMethodName(m)} MoRF`, xs, ys: c.roadMorf, colour: colour(i) }] : []),
        ...(c?.roadLerf ? [{ name: `${camMethodName(m)} LeRF`, xs, ys: c.roadLerf, colour: colour(i), dashed: true }] : [])
      ]
    })
    return series.length ? [lineChart({ title: 'ROAD (noisy linear imputation)', xLabel: 'fraction of pixels removed', yLabel: 'p(target)', series })] : []
  }
}
