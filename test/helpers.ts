import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(__dirname, '..')
export const FIXTURES = join(ROOT, 'test', 'fixtures')
export const fixture = (...parts: string[]) => join(FIXTURES, ...parts)
export const tempDir = (prefix = 'metascope-test-') => mkdtempSync(join(tmpdir(), prefix))
