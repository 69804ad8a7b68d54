import { onnx } from 'onnx-proto'
import { OrtSession, ort, type Feeds } from './ort'
import { inferElemTypes } from '../onnx/elem-types'
import { GraphIndex, type IrNode } from '../onnx/ir'
import { graphOf, type ModelProto } from '../onnx/model-file'
import { DataType, encodeTensor, type ConstTensor, type TensorArray } from '../onnx/tensor-data'

/**
 * Constant folding before gradients are built. Exporters compute some operands in the graph: PyTorch
 * 1.x writes F.pad's pads (TF-"same" padding, timm) as Shape/Gather/Sub/Cast/Unsqueeze/Concat/...
 * chains, and even constant pads at opset 11+ as ConstantOfShape/Reshape/Slice/Transpose chains. The
 * VJP rules need those operands as constants. Two kinds are folded:
 * - tensors computed from constants only (their value cannot depend on the input), evaluated once by
 *   onnxruntime on a graph without inputs;
 * - tensors computed from constants and tensor shapes only, evaluated by probe runs of the model at
 *   the input size the engine will use. A value that differs between the probes (batch 1 and 2)
 *   depends on the batch size and stays computed. The caller probes only at a size that is fixed
 *   (by the file, or by the engine for the model it runs): a value that agrees at two image sizes
 *   may still differ at a third.
 * Weights stored as Constant nodes become initializers, so they count (and train) as parameters.
 */

type Kind = 'const' | 'shape' | 'data'

/** Ops whose outputs are not a function of their inputs' values. */
const NOT_FOLDABLE = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'If', 'Loop', 'Scan', 'Dropout'])
/** Ops that read only their input's shape. */
const SHAPE_OPS = new Set(['Shape', 'Size'])
/** Input slots that hold weights (as the training graph counts them). */
const WEIGHT_SLOTS: Record<string, number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2, 3, 4],
  InstanceNormalization: [1, 2],
  LayerNormalization: [1, 2],
  PRelu: [1]
}

/**
 * Operand slots the VJP rules need as constants (pads, slice bounds, axes, sizes, indices). Probe runs
 * (a forward pass each) are spent only when a shape-derived tensor feeds one of these.
 */
const CONSTANT_SLOTS: Record<string, number[]> = {
  Pad: [1, 2, 3],
  Slice: [1, 2, 3, 4],
  Resize: [1, 2, 3],
  Upsample: [1],
  Split: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  ReduceSum: [1],
  Clip: [1, 2],
  Gather: [1],
  Tile: [1],
  TopK: [1]
}

/** How the probe runs feed the model: the image input and the dims to try (the first is the base). */
export interface FoldProbe {
  input: string
  /** The base dims, then variants (another batch size) whose values must agree with the base run's. */
  dims: number[][]
}

export interface FoldOptions {
  /** For messages and onnxruntime session labels. */
  label: string
  /** Without it, only tensors computed from constants alone are folded. */
  probe?: FoldProbe
}

export interface FoldResult {
  model: ModelProto
  /** Computed tensors replaced by constants. */
  folded: number
  /** Computed tensors that depend on the input's shape, left as they are. */
  shapeDependent: number
  /** Constant nodes turned into weight initializers. */
  weights: number
  /** Nodes whose operands the VJP rules need constant but that stay computed from the input's shape. */
  unfolded: string[]
  changed: boolean
}

const ORT_TYPES: Record<string, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
  int8: DataType.INT8
}

function fromOrt(t: ort.Tensor): ConstTensor | null {
  const dataType = ORT_TYPES[t.type]
  if (dataType === undefined) return null
  const data = (t.data as TensorArray).slice() as TensorArray
  return { dataType, dims: [...t.dims], data }
}

function sameTensor(a: ConstTensor, b: ConstTensor): boolean {
  if (a.dataType !== b.dataType || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return false
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

const sameValue = (a: ConstTensor, b: ConstTensor | null | undefined) => !!b && sameTensor(a, b)

/** Whether each tensor is a constant, a function of shapes and constants, or depends on input values. */
function classify(index: GraphIndex): Map<string, Kind> {
  const kind = new Map<string, Kind>()
  for (const name of index.initializerNames) kind.set(name, 'const')
  for (const name of index.inputNames) kind.set(name, 'data')
  for (const n of index.nodes) {
    let k: Kind
    const defaultDomain = n.domain === '' || n.domain === 'ai.onnx'
    const ins = n.inputs.filter(Boolean).map((i) => kind.get(i) ?? 'data')
    if (!defaultDomain || NOT_FOLDABLE.has(n.opType)) k = 'data'
    else if (n.opType === 'Constant') k = 'const'
    else if (SHAPE_OPS.has(n.opType)) k = ins[0] === 'const' ? 'const' : 'shape'
    else if (ins.length === 0) k = 'data'
    else if (ins.every((x) => x === 'const')) k = 'const'
    else if (ins.every((x) => x !== 'data')) k = 'shape'
    else k = 'data'
    for (const o of n.outputs) if (o) kind.set(o, k)
  }
  return kind
}

function valueInfo(name: string, elemType: number): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } })
}

/**
 * Runs a copy of `model` whose outputs are `outputs` once per feeds (one session for all); a run
 * that fails gives null.
 */
async function evaluate(model: ModelProto, outputs: string[], types: Map<string, number>, feedsList: Feeds[], label: string): Promise<(Map<string, ConstTensor | null> | null)[]> {
  const g = graphOf(model)
  const graph = onnx.GraphProto.create({ ...g, output: outputs.map((o) => valueInfo(o, types.get(o) ?? DataType.FLOAT)), valueInfo: [] })
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ ...model, graph })).finish()
  const session = await OrtSession.create(bytes, label, { intraOpThreads: 1 })
  try {
    const results: (Map<string, ConstTensor | null> | null)[] = []
    for (const feeds of feedsList) {
      try {
        const out = await session.run(feeds, outputs)
        results.push(new Map(outputs.map((o) => [o, out[o] ? fromOrt(out[o]) : null])))
      } catch {
        results.push(null)
      }
    }
    return results
  } finally {
    await session.release()
  }
}

/** The sub-model that computes `outputs` from constants alone: only the nodes and weights it needs. */
function constantSubModel(model: ModelProto, index: GraphIndex, outputs: string[]): ModelProto {
  const g = graphOf(model)
  const needed = new Set<number>()
  const tensors = new Set<string>()
  const stack = [...outputs]
  while (stack.length) {
    const t = stack.pop()!
    if (!t || tensors.has(t)) continue
    tensors.add(t)
    const p = index.producer.get(t)
    if (p && !needed.has(p.index)) {
      needed.add(p.index)
      stack.push(...p.inputs)
    }
  }
  const graph = onnx.GraphProto.create({
    name: 'fold',
    node: g.node.filter((_, i) => needed.has(i)),
    initializer: g.initializer.filter((t) => tensors.has(t.name ?? '')),
    input: [],
    output: []
  })
  return onnx.ModelProto.create({ ...model, graph, metadataProps: [] })
}

/** Folds what can be folded (see the file comment); returns the model unchanged when nothing could. */
export async function foldConstants(model: ModelProto, opts: FoldOptions): Promise<FoldResult> {
  const index = new GraphIndex(model)
  const kind = classify(index)
  const types = inferElemTypes(index)
  const outputs = new Set(index.outputNames)
  // A Constant written with value_ints/value_float/... (opset 12+) is folded like a computed value:
  // GraphIndex.constant reads only the `value` tensor form.
  const tensorConstant = (n: IrNode) => n.opType === 'Constant' && 'value' in n.attrs
  const foldable = (n: IrNode) => !tensorConstant(n) && n.outputs.every((o) => !o || kind.get(o) !== 'data')
  // The frontier: computed constant-like tensors read by a node that stays.
  const frontier = new Set<string>()
  for (const n of index.nodes) {
    if (foldable(n) || tensorConstant(n)) continue
    for (const i of n.inputs) {
      const p = i ? index.producer.get(i) : undefined
      // An Identity of a weight (torch shares tied weights so) is left: GraphIndex.constant already
      // sees through it, and a copy would split one weight into two.
      if (p && foldable(p) && !outputs.has(i) && !(p.opType === 'Identity' && index.isConstant(p.inputs[0]))) frontier.add(i)
    }
  }
  const constFrontier = [...frontier].filter((t) => kind.get(t) === 'const')
  const shapeFrontier = [...frontier].filter((t) => kind.get(t) === 'shape')
  const values = new Map<string, ConstTensor>()

  if (constFrontier.length) {
    try {
      const [got] = await evaluate(constantSubModel(model, index, constFrontier), constFrontier, types, [{}], opts.label)
      for (const [t, v] of got ?? []) if (v) values.set(t, v)
    } catch {
      // Folding only helps; a model onnxruntime cannot run fails with its own message when it is run.
    }
  }
  const neededAsConstant = shapeFrontier.some((t) =>
    (index.consumers.get(t) ?? []).some((n) => (CONSTANT_SLOTS[n.opType] ?? []).some((slot) => n.inputs[slot] === t))
  )
  let shapeDependent = 0
  if (neededAsConstant && opts.probe) {
    const probe = opts.probe
    const feeds = probe.dims.map((dims) => {
      const size = dims.reduce((p, d) => p * d, 1)
      const data = Float32Array.from({ length: size }, (_, j) => Math.sin(j * 12.9898) * 0.5)
      return { [probe.input]: new ort.Tensor('float32', data, dims) }
    })
    const all: (Map<string, ConstTensor | null> | null)[] = await evaluate(model, shapeFrontier, types, feeds, opts.label).catch(() => [null])
    // Without the base run nothing is folded (the model's own run will say what is wrong). A variant
    // the model cannot run (a fixed size in a model declared dynamic) means that dimension is fixed
    // in practice, so it cannot change the values.
    const runs = all[0] ? all.filter((r): r is Map<string, ConstTensor | null> => r !== null) : []
    for (const t of shapeFrontier) {
      const base = runs[0]?.get(t)
      if (base && runs.every((r) => sameValue(base, r.get(t)))) values.set(t, base)
      else shapeDependent++
    }
  } else shapeDependent = shapeFrontier.length

  const unfolded = index.nodes
    .filter((n) => (CONSTANT_SLOTS[n.opType] ?? []).some((slot) => shapeFrontier.includes(n.inputs[slot]) && !values.has(n.inputs[slot])))
    .map((n) => `${n.opType} node "${n.name}"`)
  return { ...rewriteGraph(model, index, kind, values, shapeDependent), unfolded }
}

/** Replaces the folded tensors by initializers, drops the nodes nothing needs any more, lifts weight Constants. */
function rewriteGraph(model: ModelProto, index: GraphIndex, kind: Map<string, Kind>, values: Map<string, ConstTensor>, shapeDependent: number): Omit<FoldResult, 'unfolded'> {
  const g = graphOf(model)
  // Constant nodes in weight slots become initializers.
  const weightConstants = new Set<string>()
  for (const n of index.nodes) {
    for (const slot of WEIGHT_SLOTS[n.opType] ?? []) {
      const t = n.inputs[slot]
      const p = t ? index.producer.get(t) : undefined
      if (!t || p?.opType !== 'Constant' || values.has(t)) continue
      const c = index.constant(t)
      if (c && (c.dataType === DataType.FLOAT || c.dataType === DataType.DOUBLE)) {
        values.set(t, c)
        weightConstants.add(t)
      }
    }
  }
  if (!values.size) return { model, folded: 0, shapeDependent, weights: 0, changed: false }
  // Walking back from the outputs: nodes that compute on input values always stay; folded chains and
  // Constant nodes stay only while a kept node still reads one of their (unfolded) outputs.
  const needed = new Set<string>(index.outputNames)
  const keep = new Array<boolean>(index.nodes.length).fill(false)
  for (let i = index.nodes.length - 1; i >= 0; i--) {
    const n = index.nodes[i]
    const computed = n.opType === 'Constant' || n.outputs.every((o) => !o || kind.get(o) !== 'data')
    keep[i] = !computed || n.outputs.some((o) => o && needed.has(o) && !values.has(o))
    if (!keep[i]) continue
    // A kept node still produces its outputs, so none of them may also become an initializer.
    for (const o of n.outputs) values.delete(o)
    for (const input of n.inputs) if (input) needed.add(input)
  }
  const readers = new Set<string>([...index.outputNames, ...g.input.map((v) => v.name ?? '')])
  g.node.forEach((n, i) => keep[i] && (n.input ?? []).forEach((t) => readers.add(t)))
  const newInits = [...values].filter(([t]) => readers.has(t)).map(([t, v]) => encodeTensor(t, v))
  // Weights only the dropped nodes read go with them; initializers nothing read are left as they were.
  const initializer = [...g.initializer.filter((t) => readers.has(t.name ?? '') || !index.consumers.has(t.name ?? '')), ...newInits]
  const weights = [...weightConstants].filter((t) => values.has(t)).length
  const folded = newInits.length - weights
  const graph = onnx.GraphProto.create({ ...g, node: g.node.filter((_, i) => keep[i]), initializer })
  if (keep.every(Boolean) && !newInits.length) return { model, folded: 0, shapeDependent, weights: 0, changed: false }
  return { model: onnx.ModelProto.create({ ...model, graph }), folded, shapeDependent, weights, changed: true }
}
