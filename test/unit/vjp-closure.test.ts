import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { NON_DIFFERENTIABLE } from '../../src/main/engine/autodiff/nondiff'
import { RULES } from '../../src/main/engine/autodiff/rules'

/**
 * Closure of the rule table (a static check, no onnxruntime): MAML differentiates backward graphs the
 * compiler emitted itself, so every op a rule can emit must have a rule too, or be one the walker
 * skips as non-differentiable. The emitted ops are read from the rules' source: the string literal
 * passed to the builder (b.op('X', ...), b.node('X', ...), ctx.b.op(...), b.reduce('X', ...)). An op
 * name that is not a literal cannot be checked, so it fails the test too.
 */

const RULES_DIR = join(__dirname, '../../src/main/engine/autodiff/rules')

/** Builder calls: the receiver is the rule's builder, `b` or `ctx.b` (not Array.prototype.reduce). */
const CALL = /\b(?:ctx\.)?b\.(?:op|node|reduce)\(\s*/g
const LITERAL = /^(['"`])([A-Za-z][A-Za-z0-9]*)\1/

/** Every op type a source text emits, and the calls whose op type is not a string literal. */
function emittedOps(source: string): { ops: Set<string>; dynamic: string[] } {
  const ops = new Set<string>()
  const dynamic: string[] = []
  for (const m of source.matchAll(CALL)) {
    const rest = source.slice(m.index! + m[0].length)
    const lit = LITERAL.exec(rest)
    if (lit) ops.add(lit[2])
    else dynamic.push(source.slice(m.index!, m.index! + m[0].length + 30).split('\n')[0])
  }
  return { ops, dynamic }
}

/** The ops of `ops` that have neither a rule nor a place in NON_DIFFERENTIABLE. */
const uncovered = (ops: Iterable<string>) => [...ops].filter((op) => !(op in RULES) && !NON_DIFFERENTIABLE.has(op)).sort()

const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.ts'))
const perFile = ruleFiles.map((f) => ({ file: f, ...emittedOps(readFileSync(join(RULES_DIR, f), 'utf8')) }))

describe('closure of the VJP rule table', () => {
  it('reads the rule sources and finds the ops they emit', () => {
    expect(ruleFiles).toContain('conv.ts')
    const all = new Set(perFile.flatMap((p) => [...p.ops]))
    // A collector that found nothing would pass vacuously.
    for (const op of ['ConvTranspose', 'ScatterElements', 'GatherElements', 'Where', 'Reciprocal', 'ConstantOfShape', 'ReduceSum', 'MaxPool']) expect(all).toContain(op)
  })

  for (const { file, ops, dynamic } of perFile) {
    it(`every op emitted by rules/${file} has a rule or is non-differentiable`, () => {
      expect(uncovered(ops), `ops emitted by ${file} with no VJP rule and not in NON_DIFFERENTIABLE`).toEqual([])
    })
    it(`rules/${file} names every emitted op with a string literal`, () => {
      expect(dynamic).toEqual([])
    })
  }

  it('no op is both differentiable (a rule) and skipped (NON_DIFFERENTIABLE)', () => {
    expect(Object.keys(RULES).filter((op) => NON_DIFFERENTIABLE.has(op))).toEqual([])
  })

  it('catches a rule that emits an op with neither (negative case)', () => {
    const snippet = `
      export const bogus: VjpRule = (ctx) => {
        const b = ctx.b
        const t = b.op('Mul', [ctx.dY[0]!, b.op('Shape', [x])])
        const [v] = ctx.b.node('HardMax', [t], { axis: 1 }, 1)
        return [b.reduce('ReduceLogSumExp', v, [1]), [1, 2].reduce((p, q) => p + q, 0)]
      }`
    const { ops, dynamic } = emittedOps(snippet)
    expect([...ops].sort()).toEqual(['HardMax', 'Mul', 'ReduceLogSumExp', 'Shape'])
    expect(uncovered(ops)).toEqual(['HardMax', 'ReduceLogSumExp'])
    expect(dynamic).toEqual([])
  })

  it('flags an op type that is not a literal (negative case)', () => {
    const { ops, dynamic } = emittedOps(`const name = pick(); return [ctx.b.op(name, [x]), b.op('Neg', [x])]`)
    expect([...ops]).toEqual(['Neg'])
    expect(dynamic).toHaveLength(1)
  })
})
