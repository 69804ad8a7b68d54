import type { AuditSettings, ImageMethodNumbers } from '../../../shared/audit'
import { fillMasked } from './confidence-change'
import { auc, fillStep } from './deletion-insertion'
import { relevanceOrder, seedOf, type Plane } from './pixels'
import { roadCount, roadInput } from './road'
import type { ScoreTask } from './scorer'

export interface FaithfulnessInput {
  /** The preprocessed image, [C*H*W] in the model's layout. */
  x: Float32Array
  /** Its map at the input size, [H*W] in [0, 1]. */
  map: Float32Array
  target: number
  /** p(target | x), for the confidence change. */
  probability: number
  /** The image's relative path and method: with the seed, they seed ROAD's noise. */
  path: string
  method: string
  /** The deletion/insertion baseline image (blur or mean), made on first use. */
  baseline: () => Float32Array
}

/**
 * The scorer tasks of one image and method: deletion and insertion curves (steps + 1 points each),
 * ROAD MoRF and LeRF at each percentile, and the map-multiplied input. Each result lands in `out` as
 * its score arrives; areas are set once a curve is complete.
 */
export function* faithfulnessTasks(
  a: FaithfulnessInput,
  s: Pick<AuditSettings, 'metrics' | 'steps' | 'roadPercentiles' | 'roadNoise' | 'seed'>,
  plane: Plane,
  out: ImageMethodNumbers
): Generator<ScoreTask> {
  const want = new Set(s.metrics)
  const area = plane.height * plane.width
  const { x, target } = a
  const order = want.has('deletion') || want.has('insertion') || want.has('road') ? relevanceOrder(a.map) : null
  for (const kind of ['deletion', 'insertion'] as const) {
    if (!want.has(kind)) continue
    const curve = new Array<number>(s.steps + 1).fill(0)
    let left = s.steps + 1
    for (let i = 0; i <= s.steps; i++) {
      yield {
        target,
        fill: (d) => (kind === 'deletion' ? fillStep(d, x, a.baseline(), order!, i, s.steps, plane) : fillStep(d, a.baseline(), x, order!, i, s.steps, plane)),
        done: (p) => {
          curve[i] = p
          left -= 1
          if (left === 0) {
            out[kind] = auc(curve)
            out[kind === 'deletion' ? 'deletionCurve' : 'insertionCurve'] = curve
          }
        }
      }
    }
  }
  if (want.has('road')) {
    const least = relevanceOrder(a.map, true)
    const morf = new Array<number>(s.roadPercentiles.length).fill(0)
    const lerf = new Array<number>(s.roadPercentiles.length).fill(0)
    out.roadMorf = morf
    out.roadLerf = lerf
    for (const [pi, pct] of s.roadPercentiles.entries()) {
      for (const [dir, ord, values] of [['morf', order!, morf], ['lerf', least, lerf]] as const) {
        yield {
          target,
          fill: (d) => d.set(roadInput(x, ord, roadCount(pct, area), plane, s.roadNoise, seedOf(s.seed, a.path, a.method, pct, dir))),
          done: (p) => (values[pi] = p)
        }
      }
    }
  }
  if (want.has('confidence')) {
    yield { target, fill: (d) => fillMasked(d, x, a.map, plane), done: (p) => (out.confidenceChange = p - a.probability) }
  }
}
