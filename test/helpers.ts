import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ApiError } from '../src/shared/errors'

export const ROOT = resolve(__dirname, '..')
export const FIXTURES = join(ROOT, 'test', 'fixtures')
export const fixture = (...parts: string[]) => join(FIXTURES, ...parts)
export const tempDir = (prefix = 'metascope-test-') => mkdtempSync(join(tmpdir(), prefix))

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
