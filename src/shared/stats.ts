/**
 * Minimum and maximum of data-sized arrays. `Math.max(...values)` passes every value as an argument
 * and overflows the call stack on large maps ("Maximum call stack size exceeded"); these loop. The lint
 * rule in eslint.config.mjs forbids the spread form.
 */
export function maxOf(values: ArrayLike<number>): number {
  let m = -Infinity
  for (let i = 0; i < values.length; i++) if (values[i] > m || Number.isNaN(values[i])) m = values[i]
  return m
}

export function minOf(values: ArrayLike<number>): number {
  let m = Infinity
  for (let i = 0; i < values.length; i++) if (values[i] < m || Number.isNaN(values[i])) m = values[i]
  return m
}
