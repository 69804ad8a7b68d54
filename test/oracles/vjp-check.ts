import { onnx } from 'onnx-proto'
import { ApiError } from '../../src/shared/errors'
import { floatTensor, OrtSession, type Feeds } from '../../src/main/engine/exec/ort'
import { probeAll } from '../../src/main/engine/exec/probe'
import { encodeAttributes, GraphBuilder, valueInfo, type BuilderAttr } from '../../src/main/engine/onnx/builder'
import { inferElemTypes } from '../../src/main/engine/onnx/elem-types'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { encodeTensor, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'
import { buildBackward } from '../../src/main/engine/autodiff/walker'
import { maxOf } from '../../src/shared/stats'

export interface CheckInput {
  name: string
  dims: number[]
  /** Values; random in [-1, 1] (kept away from 0) when omitted. */
  values?: Float32Array
  /** A constant (initializer): weights, shape operands. Not differentiated unless `differentiate`. */
  constant?: ConstTensor
  /** Differentiate with respect to this input (default: every non-constant float input). */
  differentiate?: boolean
  /** Axis 0 is the batch: dynamic in the model, probed at `probeBatch` when the spec sets one. */
  batched?: boolean
}

export interface CheckSpec {
  opType: string
  attrs?: Record<string, BuilderAttr>
  inputs: (CheckInput | null)[]
  outputs?: number
  /**
   * How many of the outputs are graph outputs with a seed (default all); the rest are node outputs
   * nothing reads (BatchNormalization with training_mode=1 must name its running-statistics outputs:
   * onnxruntime rejects fewer, and crashes on empty names).
   */
  seeded?: number
  opset?: number
  /** Finite-difference step; defaults to 1e-2 (float32 arithmetic). */
  eps?: number
  /** How many coordinates of each input to probe numerically (all when smaller). */
  samples?: number
  seed?: number
  /**
   * Build the backward graph from shapes probed at this batch (batched inputs), then evaluate it at the
   * inputs' own batch, as the engine does: catches a rule that bakes the probed batch into a constant.
   */
  probeBatch?: number
  /** checkSecondOrder: dot S with the first differentiated input's gradient (default) or with all of them. */
  outer?: 'first' | 'all'
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

/** A one-node forward model and its backward graph, as checkVjp and checkSecondOrder both use them. */
interface Built {
  fwdSession: OrtSession
  /** The backward model (forward + seeds + backward nodes; outputs: the gradients of `wrt`). */
  backwardBytes: Uint8Array
  /** Feeds of the backward model: the inputs and the seeds R. */
  feeds: Feeds
  values: Map<string, Float32Array>
  dims: Map<string, number[]>
  /** Output name -> seed values R. */
  seeds: Map<string, Float32Array>
  /** Output name -> seed input name. */
  seedNames: Map<string, string>
  wrt: string[]
  grads: Map<string, string>
}

async function buildCheck(spec: CheckSpec, rand: () => number): Promise<Built> {
  const opset = spec.opset ?? 13
  const nOut = spec.outputs ?? 1
  const nodeOutputs = Array.from({ length: nOut }, (_, i) => `y${i}`)
  const outputs = nodeOutputs.slice(0, spec.seeded ?? nOut)
  const feeds: Feeds = {}
  const values = new Map<string, Float32Array>()
  const dims = new Map<string, number[]>()
  const graphInputs: onnx.ValueInfoProto[] = []
  const initializers: onnx.TensorProto[] = []
  const dynamic = (inp: CheckInput) => spec.probeBatch !== undefined && !!inp.batched
  for (const inp of spec.inputs) {
    if (!inp) continue
    if (inp.constant && !inp.differentiate) {
      initializers.push(encodeTensor(inp.name, inp.constant))
      continue
    }
    const v = inp.values ?? randomValues(size(inp.dims), rand)
    values.set(inp.name, v)
    dims.set(inp.name, inp.dims)
    graphInputs.push(valueInfo(inp.name, onnx.TensorProto.DataType.FLOAT, dynamic(inp) ? ['N', ...inp.dims.slice(1)] : inp.dims))
    feeds[inp.name] = floatTensor(v, inp.dims)
  }
  const node = onnx.NodeProto.create({
    name: 'under_test',
    opType: spec.opType,
    input: spec.inputs.map((i) => i?.name ?? ''),
    output: nodeOutputs,
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
  // The shapes the walker sees: the inputs' own, or those at the probe batch.
  const shapes = new Map<string, number[]>()
  const probeFeeds: Feeds = {}
  for (const inp of spec.inputs) {
    if (!inp) continue
    if (inp.constant && !inp.differentiate) {
      shapes.set(inp.name, inp.constant.dims)
      continue
    }
    const d = dynamic(inp) ? [spec.probeBatch!, ...inp.dims.slice(1)] : inp.dims
    shapes.set(inp.name, d)
    probeFeeds[inp.name] = floatTensor(randomValues(size(d), rand), d)
  }
  const probed = spec.probeBatch !== undefined ? await fwdSession.run(probeFeeds) : base
  const seeds = new Map<string, Float32Array>()
  for (const o of outputs) {
    shapes.set(o, [...probed[o].dims])
    seeds.set(o, randomValues(size([...base[o].dims]), rand, 0))
  }

  const index = new GraphIndex(forward)
  const b = new GraphBuilder(forward)
  const seedNames = new Map<string, string>()
  for (const o of outputs) {
    const name = `seed_${o}`
    const d = [...base[o].dims]
    b.addInput(name, onnx.TensorProto.DataType.FLOAT, spec.probeBatch !== undefined ? ['N', ...shapes.get(o)!.slice(1)] : d)
    seedNames.set(o, name)
    feeds[name] = floatTensor(seeds.get(o)!, d)
    values.set(name, seeds.get(o)!)
    dims.set(name, d)
  }
  const wrt = spec.inputs.filter((i): i is CheckInput => !!i && (i.differentiate ?? !i.constant)).map((i) => i.name)
  const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds: seedNames })
  b.setOutputs(wrt.map((w) => grads.get(w)!))
  return { fwdSession, backwardBytes: b.encode(), feeds, values, dims, seeds, seedNames, wrt, grads }
}

/** The coordinates checked numerically: all, or `samples` evenly spaced ones. */
function coordinates(n: number, samples: number | undefined): number[] {
  const count = Math.min(n, samples ?? 24)
  return count === n ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) / count) * n))
}

/** Central differences of a scalar function of the feeds, at the given coordinates of input `w`. */
async function centralDifferences(f: (feeds: Feeds) => Promise<number>, feeds: Feeds, w: string, v: Float32Array, dims: number[], coords: number[], eps: number): Promise<number[]> {
  const numeric: number[] = []
  for (const c of coords) {
    const plus = v.slice()
    const minus = v.slice()
    plus[c] += eps
    minus[c] -= eps
    const lp = await f({ ...feeds, [w]: floatTensor(plus, dims) })
    const lm = await f({ ...feeds, [w]: floatTensor(minus, dims) })
    numeric.push((lp - lm) / (2 * eps))
  }
  return numeric
}

function compare(input: string, analytic: number[], numeric: number[]): CheckResult {
  const maxAbsError = maxOf(analytic.map((a, i) => Math.abs(a - numeric[i])))
  const scale = Math.max(1, maxOf(numeric.map(Math.abs)))
  return { input, analytic, numeric, maxAbsError, relError: maxAbsError / scale }
}

/**
 * Checks one VJP rule against central finite differences: a one-node model, loss = sum_o <R_o, Y_o>
 * with fixed random R, analytic gradients from the backward graph our walker builds, numeric ones
 * from perturbing sampled input coordinates. Everything runs in onnxruntime, like the real thing.
 */
export async function checkVjp(spec: CheckSpec): Promise<CheckResult[]> {
  const rand = rng(spec.seed ?? 7)
  const built = await buildCheck(spec, rand)
  const bwdSession = await OrtSession.create(built.backwardBytes, `${spec.opType} backward`, { intraOpThreads: 1 })
  const feeds = built.feeds
  const analyticOut = await bwdSession.run(feeds)

  const loss = async (f: Feeds) => seededLoss(await built.fwdSession.run(f), built.seeds)
  const eps = spec.eps ?? 1e-2
  const results: CheckResult[] = []
  for (const w of built.wrt) {
    const v = built.values.get(w)!
    const analyticAll = analyticOut[built.grads.get(w)!].data as Float32Array
    const coords = coordinates(v.length, spec.samples)
    const numeric = await centralDifferences(loss, feeds, w, v, built.dims.get(w)!, coords, eps)
    results.push(compare(w, coords.map((c) => analyticAll[c]), numeric))
  }
  await built.fwdSession.release()
  await bwdSession.release()
  return results
}

/**
 * Second order (MAML differentiates its inner-loop gradient): with the backward graph of checkVjp,
 * g(inputs, R) = VJP(inputs; R), defines h = <S, g_first> (or the sum of <S_i, g_i> over every
 * differentiated input, `outer: 'all'`) for another fixed random S, probes the backward model's shapes
 * (probeAll), differentiates h with buildBackward over the backward model with respect to the forward's
 * differentiated inputs and the seeds R (in a real inner loop R comes from the forward output too), and
 * compares with central differences of h. Inputs that h does not depend on through differentiable ops
 * (dX of a linear op does not depend on x) get an exact zero, which the differences must confirm.
 */
export async function checkSecondOrder(spec: CheckSpec): Promise<CheckResult[]> {
  const rand = rng(spec.seed ?? 7)
  const built = await buildCheck(spec, rand)
  await built.fwdSession.release()
  const first = await OrtSession.create(built.backwardBytes, `${spec.opType} backward`, { intraOpThreads: 1 })
  const feeds = built.feeds
  const base = await first.run(feeds)

  const model = onnx.ModelProto.decode(built.backwardBytes)
  const index = new GraphIndex(model)
  const shapes = await probeAll(index, feeds, `${spec.opType} backward probe`)
  const outer = spec.outer === 'all' ? built.wrt : built.wrt.slice(0, 1)
  const sValues = new Map<string, Float32Array>()
  const sFeeds: Feeds = {}
  for (const w of outer) {
    const g = built.grads.get(w)!
    sValues.set(g, randomValues(size([...base[g].dims]), rand, 0))
    sFeeds[`outer_seed_${w}`] = floatTensor(sValues.get(g)!, [...base[g].dims])
  }
  const targets = [...built.wrt, ...built.seedNames.values()]
  // Drop the targets h does not reach through differentiable ops: their gradient is exactly zero. The
  // walker says so up front ("does not influence"), or, when the only path runs into a Shape (Reshape(x)
  // feeding Shape), finds at the end that no gradient reached them.
  let wrt = targets
  let grads = new Map<string, string>()
  let b: GraphBuilder
  for (;;) {
    // A prefix of its own: the first pass's names (__ms/...) are already in this graph.
    b = new GraphBuilder(model, '__ms2')
    const sSeeds = new Map<string, string>()
    for (const w of outer) sSeeds.set(built.grads.get(w)!, b.addInput(`outer_seed_${w}`, onnx.TensorProto.DataType.FLOAT, [...base[built.grads.get(w)!].dims]))
    try {
      if (wrt.length) grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds: sSeeds })
      break
    } catch (err) {
      const message = err instanceof ApiError ? err.message : ''
      const unreached = wrt.find((w) => message.startsWith(`Tensor ${w} does not influence`) || message === `No gradient reached ${w}.`)
      if (!unreached) throw err
      wrt = wrt.filter((w) => w !== unreached)
    }
  }
  b.setOutputs(wrt.map((w) => grads.get(w)!))
  const second = wrt.length ? await OrtSession.create(b.encode(), `${spec.opType} second order`, { intraOpThreads: 1 }) : null
  const analyticOut = second ? await second.run({ ...feeds, ...sFeeds }) : {}

  const h = async (f: Feeds) => seededLoss(await first.run(f), sValues)
  const eps = spec.eps ?? 1e-2
  const results: CheckResult[] = []
  for (const w of targets) {
    const v = built.values.get(w)!
    const coords = coordinates(v.length, spec.samples)
    const g = grads.get(w)
    const analyticAll = g ? (analyticOut[g].data as Float32Array) : new Float32Array(v.length)
    const numeric = await centralDifferences(h, feeds, w, v, built.dims.get(w)!, coords, eps)
    results.push(compare(w, coords.map((c) => analyticAll[c]), numeric))
  }
  await first.release()
  if (second) await second.release()
  return results
}
