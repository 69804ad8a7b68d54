import { buildBackward as buildBackwardRaw, type BackwardRequest } from '../autodiff/walker'
import { ApiError } from '../../../shared/errors'
import { probeAll, type Shapes } from '../exec/probe'
import { floatTensor, type Feeds } from '../exec/ort'
import type { GraphBuilder } from '../onnx/builder'
import { inferElemTypes } from '../onnx/elem-types'
import { emptyBuilderFor, instantiate, liftInitializers } from '../onnx/graph-edit'
import { GraphIndex } from '../onnx/ir'
import { DataType } from '../onnx/tensor-data'
import { softmaxCrossEntropy } from '../train/loss'
import type { EpisodeGraph, EpisodeGraphSpec } from './episode-graph'
import type { Net } from './net'

/**
 * MAML's inner loop unrolled into one ONNX graph: theta_{i+1} = theta_i - alpha * grad CE_S(theta_i)
 * for k steps (each inner gradient compiled by the autodiff walker), then the query loss at theta_k
 * and its gradient with respect to the meta-parameters. 'second' differentiates the whole graph again
 * (through the inner gradients), 'first' stops the gradient at theta_k, 'none' is the test-time graph
 * (query logits only). One onnxruntime run per episode does all of it.
 */

export type GradientOrder = 'second' | 'first' | 'none'

export interface UnrollSpec extends EpisodeGraphSpec {
  /** Parameters updated by the inner loop. */
  inner: string[]
  steps: number
  alpha: number
  /** Meta-SGD: one learned rate per parameter element, fed as inputs `rate:<name>` (also differentiated). */
  learnedRates?: boolean
  /** Where the head starts each episode: the meta-learned head, the support prototypes (Proto-MAML), or zeros. */
  headInit: 'params' | 'proto' | 'zeros'
}


export const SUPPORT = 'support'
export const SUPPORT_LABELS = 'support_labels'
export const QUERY = 'query'
export const QUERY_LABELS = 'query_labels'
export const rateInput = (p: string) => `rate:${p}`
export const paramOfRate = (input: string) => input.slice('rate:'.length)

/** Copies are named `c<k>/<node>`; errors speak of the user's own node names. */
function buildBackward(req: BackwardRequest): Map<string, string> {
  try {
    return buildBackwardRaw(req)
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    const strip = (t: string) => t.replace(/\bc\d+\//g, '')
    const details = err.details ? Object.fromEntries(Object.entries(err.details).map(([k, v]) => [k, typeof v === 'string' ? strip(v) : v])) : undefined
    throw new ApiError(err.code, strip(err.message), err.file, details)
  }
}

/** A float that passes unchanged but carries no gradient: Cast is non-differentiable to the walker. */
function stopGradient(b: GraphBuilder, t: string): string {
  return b.op('Cast', [t], { to: DataType.FLOAT })
}

export async function buildUnrolled(spec: UnrollSpec): Promise<EpisodeGraph> {
  const { net } = spec
  const lifted = liftInitializers(net.model, spec.metaParams)
  const source = new GraphIndex(lifted.model)
  const [c, h, w] = net.inputChw
  const netShapes = async (batch: number) => {
    const index = new GraphIndex(net.model)
    return probeAll(index, { [net.inputName]: floatTensor(new Float32Array(batch * c * h * w), [batch, c, h, w]) }, 'few-shot network')
  }
  const supportShapes = await netShapes(spec.supportBatch)
  const queryShapes = spec.queryBatch === spec.supportBatch ? supportShapes : await netShapes(spec.queryBatch)

  const b = emptyBuilderFor(lifted.model, 15)
  const shapes: Shapes = new Map()
  const input = (name: string, dims: number[]) => {
    b.addInput(name, DataType.FLOAT, dims)
    shapes.set(name, dims)
    return name
  }
  // A plain training graph (no inner steps, the model's own head) reads the query set only.
  const readsSupport = spec.steps > 0 || spec.headInit !== 'params'
  if (readsSupport) {
    input(SUPPORT, [spec.supportBatch, c, h, w])
    input(SUPPORT_LABELS, [spec.supportBatch, spec.ways])
  }
  input(QUERY, [spec.queryBatch, c, h, w])
  input(QUERY_LABELS, [spec.queryBatch, spec.ways])
  const cur = new Map<string, string>()
  for (const p of spec.metaParams) cur.set(p, input(p, lifted.values.get(p)!.dims))
  const rateInputs = spec.learnedRates ? spec.inner.map((p) => input(rateInput(p), shapes.get(p)!)) : []
  const alpha = b.constF32([spec.alpha], [])

  const headOnly = spec.inner.every((p) => net.headParams.includes(p))
  if (spec.headInit !== 'params' && !headOnly) throw new Error('a prototype or zero head needs an inner loop over the head only')
  let copies = 0
  /** Copies the network (or the part between `from` and `to`), recording the copy's static shapes. */
  const run = (image: string, probe: Shapes, to: string, from?: { name: string; tensor: string }): string => {
    const bind = new Map<string, string>()
    if (from) bind.set(from.name, from.tensor)
    else bind.set(net.inputName, image)
    for (const [p, t] of cur) bind.set(p, t)
    const rename = instantiate(b, source, { bind, outputs: [to], prefix: `c${copies++}/` })
    for (const [src, dst] of rename) if (!shapes.has(dst) && probe.has(src)) shapes.set(dst, probe.get(src)!)
    return rename.get(to)!
  }
  const loss = (logits: string, labels: string, batch: number) => {
    const l = softmaxCrossEntropy(b, logits, labels)
    recordLossShapes(b, shapes, l, batch, spec.ways)
    return l
  }

  // Head-only inner loops compute the body once per set and replay only the head.
  const supportFeatures = headOnly && readsSupport ? run(SUPPORT, supportShapes, net.featuresName) : null
  if (spec.headInit !== 'params') initHead(b, spec, net, cur, shapes, supportFeatures!)
  const supportLogits = () =>
    headOnly ? run('', supportShapes, net.logitsName, { name: net.featuresName, tensor: supportFeatures! }) : run(SUPPORT, supportShapes, net.logitsName)

  const supportLosses: string[] = []
  for (let step = 0; step < spec.steps; step++) {
    const l = loss(supportLogits(), SUPPORT_LABELS, spec.supportBatch)
    supportLosses.push(l)
    const index = new GraphIndex(b.build())
    const wrt = spec.inner.map((p) => cur.get(p)!)
    const grads = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt, seeds: new Map([[l, b.constF32([1], [])]]) })
    spec.inner.forEach((p, i) => {
      const rate = spec.learnedRates ? rateInputs[i] : alpha
      const next = b.op('Sub', [cur.get(p)!, b.op('Mul', [grads.get(wrt[i])!, rate])])
      shapes.set(next, shapes.get(cur.get(p)!)!)
      cur.set(p, next)
    })
  }
  if (spec.order === 'first') {
    for (const p of spec.inner) {
      const stopped = stopGradient(b, cur.get(p)!)
      shapes.set(stopped, shapes.get(cur.get(p)!)!)
      cur.set(p, stopped)
    }
  }

  const queryLogits = headOnly
    ? run('', queryShapes, net.logitsName, { name: net.featuresName, tensor: run(QUERY, queryShapes, net.featuresName) })
    : run(QUERY, queryShapes, net.logitsName)
  const queryLoss = loss(queryLogits, QUERY_LABELS, spec.queryBatch)

  let grads: string[] = []
  let rateGrads: string[] = []
  if (spec.order !== 'none') {
    const index = new GraphIndex(b.build())
    // Second order walks back through the inner gradients, whose shapes only a probe of the whole graph knows.
    const allShapes = spec.order === 'second' ? await probeAll(index, sampleFeeds(spec, lifted.values, rateInputs), 'unrolled inner loop') : shapes
    const wrt = spec.order === 'second' ? [...spec.metaParams, ...rateInputs] : spec.metaParams.map((p) => cur.get(p)!)
    const g = buildBackward({ index, builder: b, shapes: allShapes, types: inferElemTypes(index), wrt, seeds: new Map([[queryLoss, b.constF32([1], [])]]) })
    grads = wrt.slice(0, spec.metaParams.length).map((t) => g.get(t)!)
    rateGrads = wrt.slice(spec.metaParams.length).map((t) => g.get(t)!)
  }
  // The test-time graph also returns the adapted weights, so an adapted model can be written out.
  const adapted = new Map(spec.order === 'none' ? spec.inner.map((p) => [p, cur.get(p)!] as [string, string]) : [])
  const adaptedOut = [...new Set(adapted.values())].filter((t) => !spec.metaParams.includes(t))
  b.setOutputs([queryLoss, queryLogits, ...supportLosses, ...grads, ...rateGrads, ...adaptedOut])
  return { bytes: b.encode(), metaParams: spec.metaParams, rateInputs, queryLoss, queryLogits, supportLosses, grads, rateGrads, adapted }
}

/** Shapes of the cross-entropy's own tensors (the walker asks for them; they are not in any probe). */
export function recordLossShapes(b: GraphBuilder, shapes: Shapes, loss: string, batch: number, ways: number): void {
  const index = new GraphIndex(b.build())
  let t = loss
  const dims: number[][] = [[], [], [batch], [batch, ways], [batch, ways]]
  // loss <- Neg <- ReduceMean <- ReduceSum <- Mul <- LogSoftmax, in that order.
  for (let i = 0; i < dims.length && t; i++) {
    shapes.set(t, dims[i])
    const p = index.producer.get(t)
    t = p ? p.inputs[0] : ''
  }
}

/**
 * The head each episode starts from. Proto-MAML: W_n = 2 c_n, b_n = -|c_n|^2 with c_n the mean
 * support embedding of class n (so the linear head equals the prototype classifier); zeros for the
 * fine-tune baseline. Both are computed in-graph, so the meta-gradient flows through the prototypes.
 */
function initHead(b: GraphBuilder, spec: UnrollSpec, net: Net, cur: Map<string, string>, shapes: Shapes, features: string): void {
  const [wName, bName] = net.headParams
  const f = net.featureDim
  if (spec.headInit === 'zeros') {
    cur.set(wName, b.op('ConstantOfShape', [b.constI64([spec.ways, f])]))
    cur.set(bName, b.op('ConstantOfShape', [b.constI64([spec.ways])]))
  } else {
    const shots = spec.supportBatch / spec.ways
    const protos = b.op('Div', [b.op('MatMul', [b.op('Transpose', [SUPPORT_LABELS], { perm: [1, 0] }), features]), b.constF32([shots], [])])
    cur.set(wName, b.op('Mul', [protos, b.constF32([2], [])]))
    cur.set(bName, b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [protos, protos]), b.constI64([1])], { keepdims: 0 })]))
  }
  shapes.set(cur.get(wName)!, [spec.ways, f])
  shapes.set(cur.get(bName)!, [spec.ways])
}

/** Feeds of the right dims for a shape probe: values do not matter, except to keep the run finite. */
function sampleFeeds(spec: UnrollSpec, values: Map<string, { data: ArrayLike<number | bigint> }>, rateInputs: string[]): Feeds {
  const [c, h, w] = spec.net.inputChw
  const image = (n: number) => floatTensor(Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 12.9898) * 0.5 + 0.5), [n, c, h, w])
  const oneHot = (n: number) => floatTensor(Float32Array.from({ length: n * spec.ways }, (_, i) => (i % spec.ways === Math.floor(i / spec.ways) % spec.ways ? 1 : 0)), [n, spec.ways])
  const feeds: Feeds = {
    [SUPPORT]: image(spec.supportBatch),
    [SUPPORT_LABELS]: oneHot(spec.supportBatch),
    [QUERY]: image(spec.queryBatch),
    [QUERY_LABELS]: oneHot(spec.queryBatch)
  }
  for (const p of spec.metaParams) {
    const v = values.get(p) as { data: Float32Array; dims: number[] }
    feeds[p] = floatTensor(Float32Array.from(v.data), v.dims)
  }
  spec.inner.forEach((p, i) => {
    if (!rateInputs[i]) return
    const v = values.get(p) as { data: Float32Array; dims: number[] }
    feeds[rateInputs[i]] = floatTensor(new Float32Array(v.data.length).fill(spec.alpha), v.dims)
  })
  return feeds
}
