import { basename } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { isFloatType } from '../onnx/elem-types'
import type { GraphIndex, IrNode } from '../onnx/ir'

export interface LayerInfo {
  name: string
  op: string
  shape: number[]
}

const POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax', 'AveragePool'])

/** Every float node output with its op and probed shape, in graph order (the layer list). */
export function listLayers(index: GraphIndex, shapes: Map<string, number[]>, types: Map<string, number>): LayerInfo[] {
  const out: LayerInfo[] = []
  for (const n of index.nodes) {
    if (n.opType === 'Constant' || n.opType === 'Identity') continue
    for (const o of n.outputs) {
      const shape = shapes.get(o)
      if (o && shape && isFloatType(types.get(o))) out.push({ name: o, op: n.opType, shape })
    }
  }
  return out
}

const isSpatial = (shape: number[] | undefined) => !!shape && shape.length === 4 && shape[2] * shape[3] > 1

/** Edit distance, for "did you mean" suggestions on a mistyped layer name. */
function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]
    dp[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return dp[b.length]
}

export function closeMatches(query: string, candidates: string[], limit = 5): string[] {
  const q = query.toLowerCase()
  return candidates
    .map((c) => {
      const l = c.toLowerCase()
      const score = l.includes(q) ? l.length - q.length : distance(q, l) + 100
      return { c, score }
    })
    .sort((x, y) => x.score - y.score)
    .slice(0, limit)
    .map((x) => x.c)
}

/**
 * Resolves what the user typed into one 4-D tensor name:
 * - `auto`: the last spatial 4-D tensor that feeds a pooling node on the way to the output (the
 *   classic Grad-CAM layer), else the last spatial 4-D tensor in the graph;
 * - an exact tensor name;
 * - an exporter module scope (`layer4` or `/layer4/layer4.1`): the last 4-D tensor produced under it;
 * - a node name: that node's first output.
 */
export function resolveLayer(
  index: GraphIndex,
  shapes: Map<string, number[]>,
  types: Map<string, number>,
  spec: string,
  modelPath: string
): string {
  const layers = listLayers(index, shapes, types)
  const fourD = layers.filter((l) => l.shape.length === 4)
  const file = basename(modelPath)
  if (fourD.length === 0) {
    throw new ApiError('unsupported', `${file} has no 4-D (N, C, H, W) layer, so there is no map to compute a class activation on.`, modelPath)
  }
  if (spec === 'auto' || spec === '') {
    for (let k = index.nodes.length - 1; k >= 0; k--) {
      const n = index.nodes[k]
      if (POOLS.has(n.opType) && isSpatial(shapes.get(n.inputs[0]))) return n.inputs[0]
    }
    const spatial = fourD.filter((l) => isSpatial(l.shape))
    return (spatial.at(-1) ?? fourD.at(-1)!).name
  }
  const check = (name: string) => {
    const shape = shapes.get(name)
    if (!shape || shape.length !== 4) {
      throw new ApiError('invalid-arguments', `Layer ${name} in ${file} has shape [${shape?.join(', ') ?? '?'}]; a CAM needs a 4-D (N, C, H, W) layer.`, modelPath)
    }
    return name
  }
  if (layers.some((l) => l.name === spec) || index.inputNames.includes(spec)) return check(spec)
  const scope = '/' + spec.replace(/^\/+|\/+$/g, '') + '/'
  const scoped = fourD.filter((l) => {
    const producer = index.producer.get(l.name)
    return l.name.startsWith(scope) || (producer?.name ?? '').startsWith(scope)
  })
  if (scoped.length) return scoped.at(-1)!.name
  const node = index.nodes.find((n) => n.name === spec)
  if (node) return check(node.outputs[0])
  const scopes = new Set<string>()
  for (const l of fourD) {
    const parts = l.name.split('/').filter(Boolean)
    for (let i = 1; i < parts.length; i++) scopes.add(parts.slice(0, i).join('/'))
  }
  const suggestions = closeMatches(spec, [...scopes, ...fourD.map((l) => l.name)])
  throw new ApiError('not-found', `No layer "${spec}" in ${file}. Close matches: ${suggestions.join(', ')}.`, modelPath, {
    closeMatches: suggestions
  })
}

/** Ops that keep their input's layout (element-wise and normalisation ops). */
const LAYOUT_KEEPING = new Set(['Relu', 'Clip', 'Sigmoid', 'HardSwish', 'HardSigmoid', 'LeakyRelu', 'Add', 'Mul', 'Sub', 'Div', 'Identity', 'Tanh', 'PRelu', 'Elu', 'Selu'])
const NCHW_OPS = new Set(['Conv', 'ConvTranspose', 'BatchNormalization', 'MaxPool', 'AveragePool', 'InstanceNormalization', 'LRN', 'Concat'])

function reduceAxesOf(index: GraphIndex, node: IrNode): number[] | null {
  const fromAttr = node.attrs.axes
  if (Array.isArray(fromAttr)) return (fromAttr as number[]).map((a) => (a < 0 ? a + 4 : a)).sort()
  const c = node.inputs[1] ? index.constant(node.inputs[1]) : null
  return c ? Array.from(c.data as ArrayLike<number | bigint>, (v) => { const a = Number(v); return a < 0 ? a + 4 : a }).sort() : null
}

/**
 * Whether a 4-D tensor is channels-first (ONNX's convention) or channels-last (tf2onnx graphs keep
 * NHWC between their transposes). Read from how the graph uses it: a spatial reduction over axes
 * 1,2 or a Transpose to NCHW after it means NHWC; a conv-family producer or consumer means NCHW.
 */
export function layerLayout(index: GraphIndex, name: string, depth = 0): 'NCHW' | 'NHWC' {
  for (const c of index.consumers.get(name) ?? []) {
    if (c.opType === 'GlobalAveragePool' || c.opType === 'GlobalMaxPool' || NCHW_OPS.has(c.opType)) return 'NCHW'
    if (c.opType === 'ReduceMean' || c.opType === 'ReduceMax' || c.opType === 'ReduceSum') {
      const axes = reduceAxesOf(index, c)
      if (axes?.join() === '1,2') return 'NHWC'
      if (axes?.join() === '2,3') return 'NCHW'
    }
    if (c.opType === 'Transpose' && (c.attrs.perm as number[] | undefined)?.join() === '0,3,1,2') return 'NHWC'
  }
  const p = index.producer.get(name)
  if (!p || depth > 20) return 'NCHW'
  if (p.opType === 'Transpose') return (p.attrs.perm as number[] | undefined)?.join() === '0,2,3,1' ? 'NHWC' : 'NCHW'
  if (NCHW_OPS.has(p.opType)) return 'NCHW'
  if (LAYOUT_KEEPING.has(p.opType)) {
    const dataInput = p.inputs.find((i) => i && !index.isConstant(i))
    if (dataInput) return layerLayout(index, dataInput, depth + 1)
  }
  return 'NCHW'
}
