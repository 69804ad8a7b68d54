import { onnx } from 'onnx-proto'
import { floatTensor, OrtSession, type Feeds } from '../exec/ort'
import { encodeAttributes, GraphBuilder, valueInfo, type BuilderAttr } from '../onnx/builder'
import { inferElemTypes } from '../onnx/elem-types'
import { GraphIndex } from '../onnx/ir'
import { encodeTensor, type ConstTensor } from '../onnx/tensor-data'
import { buildBackward } from './walker'

export interface CheckInput {
  name: string
  dims: number[]
  /** Values; random in [-1, 1] (kept away from 0) when omitted. */
  values?: Float32Array
  /** A constant (initializer): weights, shape operands. Not differentiated unless `differentiate`. */
  constant?: ConstTensor
  /** Differentiate with respect to this input (default: every non-constant float input). */
  differentiate?: boolean
}

export interface CheckSpec {
  opType: string
  attrs?: Record<string, BuilderAttr>
  inputs: (CheckInput | null)[]
  outputs?: number
  opset?: number
  /** Finite-difference step; defaults to 1e-2 (float32 arithmetic). */
  eps?: number
  /** How many coordinates of each input to probe numerically (all when smaller). */
  samples?: number
  seed?: number
}

export interface CheckResult {
  input: string
  analytic: number[]
  numeric: number[]
  maxAbsError: number
  /** max |a - n| / max(1, max|n|): the figure the tests bound. */
  relError: number
}

/** A small deterministic generator so checks are reproducible without Math.random. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return ((s >>> 0) / 4294967296) * 2 - 1
  }
}

export function randomValues(n: number, rand: () => number, awayFromZero = 0.05): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const v = rand()
    out[i] = v >= 0 ? v + awayFromZero : v - awayFromZero
  }
  return out
}

const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1)

/** loss = sum over outputs of <R_o, Y_o>, in float64: the scalar whose gradient the seeds R_o define. */
export function seededLoss(out: Record<string, { data: unknown }>, seeds: Map<string, Float32Array>): number {
  let l = 0
  for (const [o, r] of seeds) {
    const y = out[o].data as Float32Array
    for (let i = 0; i < y.length; i++) l += y[i] * r[i]
  }
  return l
}

/**
 * Checks one VJP rule against central finite differences: a one-node model, loss = sum_o <R_o, Y_o>
 * with fixed random R, analytic gradients from the backward graph our walker builds, numeric ones
 * from perturbing sampled input coordinates. Everything runs in onnxruntime, like the real thing.
 */
export async function checkVjp(spec: CheckSpec): Promise<CheckResult[]> {
  const rand = rng(spec.seed ?? 7)
  const opset = spec.opset ?? 13
  const nOut = spec.outputs ?? 1
  const outputs = Array.from({ length: nOut }, (_, i) => `y${i}`)
  const feeds: Feeds = {}
  const values = new Map<string, Float32Array>()
  const graphInputs: onnx.ValueInfoProto[] = []
  const initializers: onnx.TensorProto[] = []
  for (const inp of spec.inputs) {
    if (!inp) continue
    if (inp.constant && !inp.differentiate) {
      initializers.push(encodeTensor(inp.name, inp.constant))
      continue
    }
    const v = inp.values ?? randomValues(size(inp.dims), rand)
    values.set(inp.name, v)
    graphInputs.push(valueInfo(inp.name, onnx.TensorProto.DataType.FLOAT, inp.dims))
    feeds[inp.name] = floatTensor(v, inp.dims)
  }
  const node = onnx.NodeProto.create({
    name: 'under_test',
    opType: spec.opType,
    input: spec.inputs.map((i) => i?.name ?? ''),
    output: outputs,
    attribute: encodeAttributes(spec.attrs ?? {})
  })
  // Round-trip through bytes so the model looks exactly like one read from a file.
  const created = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'check',
      node: [node],
      input: graphInputs,
      initializer: initializers,
      output: outputs.map((o) => onnx.ValueInfoProto.create({ name: o, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }))
    }
  })
  const forwardBytes = onnx.ModelProto.encode(created).finish()
  const forward = onnx.ModelProto.decode(forwardBytes)

  const fwdSession = await OrtSession.create(forwardBytes, `${spec.opType} check`, { intraOpThreads: 1 })
  const base = await fwdSession.run(feeds)
  const shapes = new Map<string, number[]>()
  for (const inp of spec.inputs) if (inp) shapes.set(inp.name, inp.constant && !inp.differentiate ? inp.constant.dims : inp.dims)
  const seeds = new Map<string, Float32Array>()
  for (const o of outputs) {
    shapes.set(o, [...base[o].dims])
    seeds.set(o, randomValues(size([...base[o].dims]), rand, 0))
  }

  const index = new GraphIndex(forward)
  const b = new GraphBuilder(forward)
  const seedNames = new Map<string, string>()
  for (const o of outputs) {
    const name = `seed_${o}`
    b.addInput(name, onnx.TensorProto.DataType.FLOAT, shapes.get(o)!)
    seedNames.set(o, name)
    feeds[name] = floatTensor(seeds.get(o)!, shapes.get(o)!)
  }
  const wrt = spec.inputs.filter((i): i is CheckInput => !!i && (i.differentiate ?? !i.constant)).map((i) => i.name)
  const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds: seedNames })
  b.setOutputs(wrt.map((w) => grads.get(w)!))
  const bwdSession = await OrtSession.create(b.encode(), `${spec.opType} backward`, { intraOpThreads: 1 })
  const analyticOut = await bwdSession.run(feeds)

  const loss = async (f: Feeds) => seededLoss(await fwdSession.run(f), seeds)
  const eps = spec.eps ?? 1e-2
  const results: CheckResult[] = []
  for (const w of wrt) {
    const v = values.get(w)!
    const dims = spec.inputs.find((i) => i?.name === w)!.dims
    const analyticAll = analyticOut[grads.get(w)!].data as Float32Array
    const n = v.length
    const count = Math.min(n, spec.samples ?? 24)
    const coords = count === n ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) / count) * n))
    const analytic: number[] = []
    const numeric: number[] = []
    for (const c of coords) {
      const plus = v.slice()
      const minus = v.slice()
      plus[c] += eps
      minus[c] -= eps
      const lp = await loss({ ...feeds, [w]: floatTensor(plus, dims) })
      const lm = await loss({ ...feeds, [w]: floatTensor(minus, dims) })
      numeric.push((lp - lm) / (2 * eps))
      analytic.push(analyticAll[c])
    }
    const maxAbsError = Math.max(...analytic.map((a, i) => Math.abs(a - numeric[i])))
    const scale = Math.max(1, ...numeric.map(Math.abs))
    results.push({ input: w, analytic, numeric, maxAbsError, relError: maxAbsError / scale })
  }
  await fwdSession.release()
  await bwdSession.release()
  return results
}
