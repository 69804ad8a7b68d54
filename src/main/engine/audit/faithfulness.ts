import type { ImageMethodNumbers } from '../../../shared/audit'
import { chosenMetrics } from './metrics'
import type { TaskInput, TaskSettings } from './metrics/base'
import { relevanceOrder, type Plane } from './pixels'
import type { ScoreTask } from '../model/scorer'

export type FaithfulnessInput = Omit<TaskInput, 'order'>

/**
 * The scorer tasks of one image and method, from every chosen metric that perturbs the input
 * (deletion, insertion, ROAD, the map-multiplied input), in registry order. The relevance order is
 * sorted once and shared. Each result lands in `out` as its score arrives.
 */
export function* faithfulnessTasks(a: FaithfulnessInput, s: TaskSettings, plane: Plane, out: ImageMethodNumbers): Generator<ScoreTask> {
  let order: Uint32Array | null = null
  const input: TaskInput = { ...a, order: () => (order ??= relevanceOrder(a.map)) }
  for (const m of chosenMetrics(s.metrics)) if (m.tasks) yield* m.tasks(input, s, plane, out)
}

/** True when some chosen metric perturbs the input (and so needs the scorer). */
export const perturbs = (metrics: readonly string[]) => chosenMetrics(metrics).some((m) => m.tasks)
