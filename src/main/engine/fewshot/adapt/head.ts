import { ApiError } from '../../../../shared/errors'
import type { IrNode } from '../../onnx/ir'
import type { LoadedModel } from '../../model/loaded-model'
import type { ScoreActivation } from '../../model/scores'

/**
 * The linear classifier at the end of an imported model: logits = features . W^T + b (Gemm), or
 * features . W + b (MatMul, then Add). Adapting to new classes replaces exactly this layer.
 */
export interface ClassifierHead {
  /** The Gemm or MatMul node. */
  node: IrNode
  /** Weight initializer (or constant) name: [N, F] when transB, else [F, N]. */
  weight: string
  /** Bias initializer (or constant) name; null when the head has none. */
  bias: string | null
  transB: boolean
  /** Gemm's alpha and beta (1 for MatMul + Add): logits = alpha * x W^T + beta * b. */
  alpha: number
  beta: number
  /** The head's input, [B, F] (or [B, 1, ..., 1, F] for a MatMul head; the head net flattens it). */
  features: string
  /** True when `features` is not already 2-D and must be flattened to [B, F]. */
  flatten: boolean
  featureDim: number
  /** Classes of the original head. */
  numClasses: number
  /** The scores before any Softmax / LogSoftmax / Sigmoid: the logits a new head replaces. */
  logits: string
  /** What the model does to the logits before its output: the model's own probabilities follow from it. */
  activation: ScoreActivation
}

/** Ops passed over between the model's output and the head: they only reshape or squash the scores. */
const PASS_THROUGH = new Set(['Identity', 'Softmax', 'LogSoftmax', 'Sigmoid', 'Flatten', 'Reshape', 'Squeeze'])
const ACTIVATION: Record<string, ScoreActivation> = { Softmax: 'softmax', LogSoftmax: 'logsoftmax', Sigmoid: 'sigmoid' }

const LOOKED_FOR =
  'a final Gemm or MatMul (+ Add bias) with constant weights producing the class scores, looking back from the output through Identity, Softmax, LogSoftmax, Sigmoid, Flatten, Reshape and Squeeze'

/**
 * Finds the classifier head of `model`: automatically (the last linear layer feeding the first
 * output) or the one `name` names (a node name, or the name of the head's weight initializer).
 */
export function findHead(model: LoadedModel, name?: string): ClassifierHead {
  const index = model.index
  let activation: ScoreActivation = 'none'
  if (name !== undefined && name !== '') {
    const node =
      index.nodes.find((n) => n.name === name) ??
      index.nodes.find((n) => (n.opType === 'Gemm' || n.opType === 'MatMul') && n.inputs[1] === name)
    if (!node) {
      const linear = index.nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'MatMul').map((n) => `${n.name} (${n.opType}, weight ${n.inputs[1]})`)
      throw new ApiError(
        'not-found',
        `${model.file} has no node or weight named "${name}". ${linear.length ? `Its Gemm/MatMul nodes: ${linear.slice(-8).join(', ')}.` : 'It has no Gemm or MatMul node.'}`,
        model.path,
        { field: 'head', constraint: 'unknown', value: name, candidates: linear }
      )
    }
    if (node.opType !== 'Gemm' && node.opType !== 'MatMul') {
      throw new ApiError('unsupported', `The head ${name} in ${model.file} is a ${node.opType} node; the head must be a Gemm or MatMul (a linear layer).`, model.path, { field: 'head', constraint: 'not-linear', value: name, op: node.opType })
    }
    // Softmax etc. after a named head: the model's own output activation, when the chain reaches it.
    activation = activationAfter(model, node)
    return describe(model, node, activation, name)
  }
  let t = model.logitsName
  for (let guard = 0; guard < 64; guard++) {
    const p = index.producer.get(t)
    if (!p) break
    if (PASS_THROUGH.has(p.opType)) {
      if (ACTIVATION[p.opType] && activation === 'none') activation = ACTIVATION[p.opType]
      t = p.inputs[0]
      continue
    }
    if (p.opType === 'Gemm') return describe(model, p, activation)
    if (p.opType === 'Add') {
      const m = p.inputs.map((i) => index.producer.get(i)).find((n) => n?.opType === 'MatMul' || n?.opType === 'Gemm')
      if (m) return describe(model, m, activation)
    }
    if (p.opType === 'MatMul') return describe(model, p, activation)
    break
  }
  throw new ApiError(
    'unsupported',
    `Found no classifier head in ${model.file}: looked for ${LOOKED_FOR}; the output ${model.logitsName} comes from ${describeProducer(model, t)}. Name the head's node or weight.`,
    model.path,
    { field: 'head', constraint: 'not-found' }
  )
}

function describeProducer(model: LoadedModel, t: string): string {
  const p = model.index.producer.get(t)
  return p ? `a ${p.opType} node (${p.name})` : `no node (${t} is a graph input or weight)`
}

/** The activation between a named head and the model output, when the output is reached through pass-through ops. */
function activationAfter(model: LoadedModel, node: IrNode): ScoreActivation {
  let t = model.logitsName
  let act: ScoreActivation = 'none'
  for (let guard = 0; guard < 64; guard++) {
    const p = model.index.producer.get(t)
    if (!p) return 'none'
    if (p === node) return act
    if (p.opType === 'Add' && p.inputs.some((i) => model.index.producer.get(i) === node)) return act
    if (!PASS_THROUGH.has(p.opType)) return 'none'
    if (ACTIVATION[p.opType] && act === 'none') act = ACTIVATION[p.opType]
    t = p.inputs[0]
  }
  return 'none'
}

function describe(model: LoadedModel, node: IrNode, activation: ScoreActivation, named?: string): ClassifierHead {
  const index = model.index
  const where = named ? `the head ${named}` : `the head ${node.name}`
  const bad = (why: string) => new ApiError('unsupported', `${model.file}: ${where} (${node.opType}) cannot be adapted: ${why}.`, model.path)
  const [x, w] = node.inputs
  const wValue = index.constant(w)
  if (!wValue) throw bad(`its weight ${w} is computed, not a constant initializer`)
  if (wValue.dims.length !== 2) throw bad(`its weight ${w} has shape [${wValue.dims.join(', ')}], not 2-D`)
  const xShape = model.shapes.get(x)
  if (!xShape) throw bad(`the shape of its input ${x} is unknown`)
  let transB: boolean
  let alpha = 1
  let beta = 1
  let bias: string | null = null
  let logits: string
  if (node.opType === 'Gemm') {
    if (node.attrs.transA) throw bad('it transposes its input (transA=1)')
    transB = Boolean(node.attrs.transB)
    alpha = typeof node.attrs.alpha === 'number' ? node.attrs.alpha : 1
    beta = typeof node.attrs.beta === 'number' ? node.attrs.beta : 1
    bias = node.inputs[2] || null
    logits = node.outputs[0]
  } else {
    transB = false
    logits = node.outputs[0]
    const adds = index.consumers.get(logits) ?? []
    const add = adds.length === 1 && adds[0].opType === 'Add' ? adds[0] : null
    const other = add?.inputs.find((i) => i !== logits)
    if (add && other && index.constant(other)) {
      bias = other
      logits = add.outputs[0]
    }
  }
  const [n, f] = transB ? wValue.dims : [wValue.dims[1], wValue.dims[0]]
  if (bias) {
    const bValue = index.constant(bias)
    if (!bValue) throw bad(`its bias ${bias} is computed, not a constant initializer`)
    const count = bValue.dims.reduce((p, d) => p * d, 1)
    if (count !== n && count !== 1) throw bad(`its bias ${bias} has shape [${bValue.dims.join(', ')}], not [${n}]`)
  }
  // [B, F]; a MatMul head may see [B, 1, ..., 1, F], which flattens to the same rows.
  const flat = xShape.length === 2
  const flattenable = xShape.length > 2 && node.opType === 'MatMul' && xShape.slice(1, -1).every((d) => d === 1)
  if ((!flat && !flattenable) || xShape[xShape.length - 1] !== f) {
    throw bad(`its input ${x} has shape [${xShape.join(', ')}], not [batch, ${f}] features`)
  }
  return { node, weight: w, bias, transB, alpha, beta, features: x, flatten: !flat, featureDim: f, numClasses: n, logits, activation }
}

/** The head's weight as [N, F] rows and its bias [N] (alpha and beta folded in), from the model's constants. */
export function headValues(model: LoadedModel, head: ClassifierHead): { weight: Float32Array; bias: Float32Array } {
  const w = model.index.constant(head.weight)!
  const data = w.data as Float32Array
  const n = head.numClasses
  const f = head.featureDim
  const weight = new Float32Array(n * f)
  for (let r = 0; r < n; r++) for (let c = 0; c < f; c++) weight[r * f + c] = head.alpha * (head.transB ? data[r * f + c] : data[c * n + r])
  const bias = new Float32Array(n)
  if (head.bias) {
    const b = model.index.constant(head.bias)!.data as Float32Array
    for (let r = 0; r < n; r++) bias[r] = head.beta * (b.length === 1 ? b[0] : b[r])
  }
  return { weight, bias }
}
