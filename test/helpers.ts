import { expect } from 'vitest'
import { ApiError } from '../src/shared/errors'

export { ROOT, FIXTURES, fixture, tempDir, demoClasses } from './paths'

/** The ApiError a promise rejects with; fails the test if it resolves or throws anything else. */
export async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected a failure')
}

/** Largest absolute difference between two equally long arrays (a length mismatch fails the test). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}
