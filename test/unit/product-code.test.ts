import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers'

/**
 * Only product code lives in src/: every module there is reached from one of the app's entry points
 * (desktop main, preload, renderer, engine process, browser-mode server, CLI). Oracles and checkers
 * that only tests use belong under test/ (issue #20).
 */
const ENTRIES = ['src/main/electron/main.ts', 'src/preload/index.ts', 'src/renderer/src/main.ts', 'src/main/host/engine-process.ts', 'src/main/serve.ts', 'src/main/cli.ts']

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

/** The file a relative specifier names: exact, with .ts/.vue, or a folder's index.ts. */
function resolveSpec(from: string, spec: string): string | null {
  const base = join(dirname(from), spec)
  for (const c of [base, `${base}.ts`, `${base}.vue`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c
  return null
}

function reachable(): Set<string> {
  const seen = new Set<string>()
  const todo = ENTRIES.map((e) => join(ROOT, e))
  while (todo.length) {
    const file = todo.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolveSpec(file, m[1])
      if (target) todo.push(target)
    }
  }
  return seen
}

describe('src/ holds product code only', () => {
  it('every module under src/ is reached from an entry point of the app', () => {
    const seen = reachable()
    const code = walk(join(ROOT, 'src')).filter((f) => /\.(ts|vue)$/.test(f) && !f.endsWith('.d.ts'))
    const orphans = code.filter((f) => !seen.has(f)).map((f) => relative(ROOT, f))
    expect(orphans).toEqual([])
  })

  it('the check sees through the app (it reaches the engine, the renderer and the CLI)', () => {
    const seen = [...reachable()].map((f) => relative(ROOT, f))
    for (const f of ['src/main/engine/autodiff/walker.ts', 'src/renderer/src/App.vue', 'src/main/cli/cam-command.ts', 'src/shared/api.ts']) expect(seen).toContain(f)
  })
  it('every exported function, class or value in src/ is used by product code (tests may use it too)', () => {
    // Seams the tests reach in through, each also meaningful to the product: the gradient-CAM list, the
    // embedding cache, one-image and episode-file readers, and the tfjs loader the oracles share.
    const seams = new Set(['GRADIENT_CAMS', 'clearEmbeddingCache', 'readImage', 'makeEpisodesFile', 'loadTfjs'])
    const code = walk(join(ROOT, 'src')).filter((f) => /\.(ts|vue)$/.test(f))
    const texts = new Map(code.map((f) => [f, readFileSync(f, 'utf8')]))
    const unused: string[] = []
    for (const [file, text] of texts) {
      for (const m of text.matchAll(/^export (?:async )?(?:function|class|const|let) (\w+)/gm)) {
        const name = m[1]
        const word = new RegExp(`\\b${name}\\b`, 'g')
        const elsewhere = [...texts].some(([f, t]) => f !== file && word.test(t))
        const ownUses = (text.match(word) ?? []).length
        if (!elsewhere && ownUses <= 1 && !seams.has(name)) unused.push(`${relative(ROOT, file)}: ${name}`)
      }
    }
    expect(unused).toEqual([])
  })
})
