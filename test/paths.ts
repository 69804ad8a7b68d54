import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** Paths for tests and benches alike (no vitest import, so scripts under bench/ can use them too). */
export const ROOT = resolve(__dirname, '..')
export const FIXTURES = join(ROOT, 'test', 'fixtures')
export const fixture = (...parts: string[]) => join(FIXTURES, ...parts)
export const tempDir = (prefix = 'metascope-test-') => mkdtempSync(join(tmpdir(), prefix))

/** A folder of class sub-folders holding the first `n` demo images of each class (real Fashion-MNIST images). */
export function demoClasses(classes: string[] = ['Bag', 'Coat'], n = 2, root = tempDir()): string {
  const demo = join(ROOT, 'resources', 'demo', 'images')
  for (const c of classes) {
    mkdirSync(join(root, c), { recursive: true })
    for (const f of readdirSync(join(demo, c)).sort().slice(0, n)) copyFileSync(join(demo, c, f), join(root, c, f))
  }
  return root
}
