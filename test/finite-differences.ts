import { expect } from 'vitest'
import { floatTensor, type Feeds } from '../src/main/engine/exec/ort'
import type { ParamStore } from '../src/main/engine/train/params'
import { maxOf } from '../src/shared/stats'

/**
 * Central finite differences of a graph's loss against its analytic gradients: for each named weight,
 * its first, middle and last element moved by +-eps (1e-2), within 2% of the largest gradient element
 * (at least 2e-4). Returns how many elements were checked.
 */
export async function checkByDifferences(o: {
  names: string[]
  /** The analytic gradient of each name, in the same order. */
  grads: Float32Array[]
  weights: ParamStore
  feeds: Feeds
  loss: (feeds: Feeds) => Promise<number>
  /** Also require every gradient to be non-zero somewhere. */
  nonZero?: boolean
}): Promise<number> {
  const eps = 1e-2
  let checked = 0
  for (const [i, name] of o.names.entries()) {
    const g = o.grads[i]
    const t = o.weights.get(name)!
    const scale = maxOf(Array.from(g, Math.abs))
    if (o.nonZero) expect(scale, `${name} has a gradient`).toBeGreaterThan(0)
    for (const k of [0, Math.floor(t.data.length / 2), t.data.length - 1]) {
      const plus = t.data.slice()
      const minus = t.data.slice()
      plus[k] += eps
      minus[k] -= eps
      const numeric = ((await o.loss({ ...o.feeds, [name]: floatTensor(plus, t.dims) })) - (await o.loss({ ...o.feeds, [name]: floatTensor(minus, t.dims) }))) / (2 * eps)
      expect(Math.abs(numeric - g[k]), `${name}[${k}]: analytic ${g[k]}, numeric ${numeric}`).toBeLessThan(2e-2 * Math.max(scale, 1e-2))
      checked++
    }
  }
  return checked
}
