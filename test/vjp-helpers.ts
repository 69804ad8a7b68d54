import { expect, it } from 'vitest'
import { checkVjp, type CheckInput, type CheckSpec } from './oracles/vjp-check'
import type { ConstTensor } from '../src/main/engine/onnx/tensor-data'
import { maxOf } from '../src/shared/stats'

/** Shared by the VJP rule tests: inputs of a one-node check model and the finite-difference expectation. */

/** A differentiated input, optionally with given values. */
export const x = (name: string, dims: number[], values?: Float32Array): CheckInput => (values ? { name, dims, values } : { name, dims })
/** A constant operand (initializer) that is not differentiated. */
export const k = (name: string, c: ConstTensor): CheckInput => ({ name, dims: c.dims, constant: c })

const TOL = 1e-3

/** Runs checkVjp; every differentiated input's gradient must match finite differences within TOL. */
export async function expectGrad(spec: CheckSpec, expectedInputs?: string[]): Promise<void> {
  // Every coordinate of these small inputs: a few evenly spaced samples can miss a border column.
  const results = await checkVjp({ samples: 1024, ...spec })
  if (expectedInputs) expect(results.map((res) => res.input)).toEqual(expectedInputs)
  expect(results.length).toBeGreaterThan(0)
  for (const res of results) {
    const show = (v: number[]) => v.slice(0, 8).map((n) => n.toFixed(4)).join(' ')
    const detail = `${spec.opType} d/d${res.input}: rel ${res.relError.toExponential(2)}\n analytic ${show(res.analytic)}\n numeric  ${show(res.numeric)}`
    expect(res.relError, detail).toBeLessThan(TOL)
    // A rule emitting zeros would pass against a zero FD; make sure the check saw some gradient.
    expect(maxOf(res.numeric.map(Math.abs)), `${spec.opType} d/d${res.input}: no gradient at all`).toBeGreaterThan(0)
  }
}

export const grad = (title: string, spec: () => CheckSpec, expectedInputs?: string[]) => it(title, () => expectGrad(spec(), expectedInputs))
export const refuses = (title: string, spec: () => CheckSpec, message: RegExp) => it(`refuses ${title}`, () => expect(checkVjp(spec())).rejects.toThrow(message))

/** Distinct values `step` apart, shuffled with `rand`: no argmax / max-pool winner flips under the FD step. */
export function distinctValues(dims: number[], rand: () => number, step = 0.05): Float32Array {
  const n = dims.reduce((p, d) => p * d, 1)
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * step)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(((rand() + 1) / 2) * (i + 1)) % (i + 1)
    ;[v[i], v[j]] = [v[j], v[i]]
  }
  return Float32Array.from(v)
}
