import { onnx } from 'onnx-proto'
import { ApiError } from '../../../shared/errors'
import { GraphBuilder } from './builder'
import type { GraphIndex } from './ir'
import { graphOf, type ModelProto } from './model-file'
import { decodeTensor, type ConstTensor } from './tensor-data'

/**
 * Graph surgery for training: lift weights out of a model into graph inputs, start an empty graph
 * that keeps the frozen weights, and copy (instantiate) a part of a graph with its tensors renamed,
 * so one forward pass can appear several times in one graph (MAML's unrolled inner loop) and the
 * autodiff compiler can differentiate what it emitted.
 */

/** A copy of `model` in which the named initializers are graph inputs; returns their values. */
export function liftInitializers(model: ModelProto, names: string[]): { model: ModelProto; values: Map<string, ConstTensor> } {
  const g = graphOf(model)
  const wanted = new Set(names)
  const values = new Map<string, ConstTensor>()
  const kept: onnx.ITensorProto[] = []
  const lifted: onnx.ValueInfoProto[] = []
  for (const t of g.initializer) {
    const name = t.name ?? ''
    if (!wanted.has(name)) {
      kept.push(t)
      continue
    }
    const value = decodeTensor(t)
    values.set(name, value)
    lifted.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: value.dataType, shape: { dim: value.dims.map((d) => ({ dimValue: d })) } } } }))
  }
  const missing = names.filter((n) => !values.has(n))
  if (missing.length) throw new ApiError('not-found', `No weights named ${missing.join(', ')} in the model.`)
  // Older IR versions list initializers among the inputs too; drop those entries before re-adding.
  const input = [...g.input.filter((i) => !wanted.has(i.name ?? '')), ...lifted]
  const graph = onnx.GraphProto.create({ ...g, input, initializer: kept })
  return { model: onnx.ModelProto.create({ ...model, graph }), values }
}

/**
 * A builder over an empty graph that holds `model`'s initializers (the frozen weights every
 * instantiated copy shares by name) and declares at least `opset`.
 */
export function emptyBuilderFor(model: ModelProto, opset = 13, prefix = '__ms'): GraphBuilder {
  const g = graphOf(model)
  const graph = onnx.GraphProto.create({ name: g.name || 'metascope', initializer: g.initializer, node: [], input: [], output: [] })
  const b = new GraphBuilder(onnx.ModelProto.create({ ...model, graph, metadataProps: [] }), prefix)
  b.requireOpset(opset)
  return b
}

export interface InstantiateOptions {
  /** Source tensor -> tensor in the builder (graph inputs, lifted weights, or a cut point). */
  bind: Map<string, string>
  /** The source tensors wanted; only the nodes needed for them are copied. */
  outputs: string[]
  /** Prefix for every copied tensor and node name (unique per copy). */
  prefix: string
}

/**
 * Copies the nodes of `source` needed to compute `outputs` from the bound tensors into `b`, renaming
 * each produced tensor `prefix + name`. Bound tensors stop the walk, so binding a mid-graph tensor
 * (the features) copies only the part after it. Unbound names that are not produced by a copied node
 * must be the source's initializers, which the builder's graph already holds under the same names.
 * Returns the rename of every source tensor the copy produced or bound.
 */
export function instantiate(b: GraphBuilder, source: GraphIndex, opts: InstantiateOptions): Map<string, string> {
  const needed = new Set<number>()
  const stack = [...opts.outputs]
  const seen = new Set<string>()
  while (stack.length) {
    const t = stack.pop()!
    if (!t || seen.has(t) || opts.bind.has(t)) continue
    seen.add(t)
    const p = source.producer.get(t)
    if (!p) {
      if (source.initializerNames.has(t)) continue
      throw new ApiError('internal', `Cannot compute ${t}: it is neither produced in the graph, a weight, nor given.`)
    }
    if (needed.has(p.index)) continue
    needed.add(p.index)
    stack.push(...p.inputs)
  }
  const rename = new Map(opts.bind)
  const raw = graphOf(source.model).node
  for (const n of source.nodes) {
    if (!needed.has(n.index)) continue
    for (const o of n.outputs) if (o) rename.set(o, opts.prefix + o)
    const proto = raw[n.index]
    b.rawNode(
      onnx.NodeProto.create({
        ...proto,
        name: opts.prefix + n.name,
        input: n.inputs.map((i) => (i ? (rename.get(i) ?? i) : '')),
        output: n.outputs.map((o) => (o ? rename.get(o)! : ''))
      })
    )
  }
  return rename
}
