import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** Paths for tests and benches alike (no vitest import, so scripts under bench/ can use them too). */
export const ROOT = resolve(__dirname, '..')
export const FIXTURES = join(ROOT, 'test', 'fixtures')
export const fixture = (...parts: string[]) => join(FIXTURES, ...parts)
export const tempDir = (prefix = 'metascope-test-') => mkdtempSync(join(tmpdir(), prefix))
