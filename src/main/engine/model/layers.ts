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
 * The scope torch.onnx gives a module path: each prefix of the path contributes its name from the
 * last non-numeric atom on (torch.onnx.utils._unqualified_variable_name), so `layer4.1.conv2` is
 * `/layer4/layer4.1/conv2/` and `features.6.conv.0.0` is `/features/features.6/conv/conv.0/conv.0.0/`.
 * Accepts the indexing pytorch-grad-cam users write too: `model.features[10]`, `layer4[1].conv2`.
 */
export function moduleScope(path: string): string | null {
  const dotted = path
    .trim()
    .replace(/^model\./, '')
    .replace(/\[(\d+)\]/g, '.$1')
  if (!/^[A-Za-z_][\w]*(\.\w+)*$/.test(dotted)) return null
  const atoms = dotted.split('.')
  const parts = atoms.map((_, k) => {
    let i = k
    while (i > 0 && /^\d+$/.test(atoms[i])) i--
    return atoms.slice(i, k + 1).join('.')
  })
  return '/' + parts.join('/') + '/'
}

/** A name without tf2onnx's `:0` output suffix, so `Conv_1/Relu6` finds `MobilenetV2/Conv_1/Relu6:0`. */
const bare = (name: string) => name.replace(/:0$/, '')

/**
 * Resolves what the user typed into one 4-D tensor name:
 * - `auto`: the last spatial 4-D tensor that feeds a pooling node on the way to the output (the
 *   classic Grad-CAM layer), else the last spatial 4-D tensor in the graph;
 * - an exact tensor name;
 * - an exporter module scope (`layer4` or `/layer4/layer4.1`): the last 4-D tensor produced under it;
 * - a PyTorch module path (`features.10`, `layer4.1.conv2`, `model.features[10]`): the same, under
 *   the scope torch.onnx gives that module;
 * - a node name: that node's first output;
 * - a unique suffix of a tensor or node name at a `/` boundary (`Conv_1/Relu6`).
 * Ambiguous and unknown names are errors that list close candidates.
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
    throw new ApiError('unsupported', `${file} has no 4-D (N, C, H, W) layer, so there is no map to compute a class activation on.`, modelPath, { field: 'layer', constraint: 'none-4d', model: file })
  }
  if (spec === 'auto' || spec === '') return autoLayer(index, shapes, fourD)
  const check = (name: string) => {
    const shape = shapes.get(name)
    if (!shape || shape.length !== 4) {
      throw new ApiError('invalid-arguments', `Layer ${name} in ${file} has shape [${shape?.join(', ') ?? '?'}]; a CAM needs a 4-D (N, C, H, W) layer.`, modelPath, {
        field: 'layer',
        constraint: 'not-4d',
        value: name,
        model: file,
        shape: `[${shape?.join(', ') ?? '?'}]`
      })
    }
    return name
  }
  if (layers.some((l) => l.name === spec) || index.inputNames.includes(spec)) return check(spec)
  const lastUnder = (scope: string) => {
    const scoped = fourD.filter((l) => {
      const producer = index.producer.get(l.name)
      return l.name.startsWith(scope) || (producer?.name ?? '').startsWith(scope)
    })
    return scoped.at(-1)?.name ?? null
  }
  const scoped = lastUnder('/' + spec.replace(/^\/+|\/+$/g, '') + '/')
  if (scoped) return scoped
  const node = index.nodes.find((n) => n.name === spec)
  if (node) return check(node.outputs[0])
  const asModule = moduleScope(spec)
  // Only worth mentioning (and trying) when it differs from the slash form tried above.
  const module = asModule && asModule !== '/' + spec + '/' ? asModule : null
  const fromModule = module ? lastUnder(module) : null
  if (fromModule) return fromModule
  // A unique suffix of a tensor or node name, at a '/' boundary.
  const tail = '/' + bare(spec.replace(/^\/+/, ''))
  const bySuffix = new Set<string>()
  for (const l of layers) if (('/' + bare(l.name)).endsWith(tail)) bySuffix.add(l.name)
  for (const n of index.nodes) if (n.outputs[0] && ('/' + n.name).endsWith(tail)) bySuffix.add(n.outputs[0])
  if (bySuffix.size === 1) return check([...bySuffix][0])
  if (bySuffix.size > 1) {
    const matches = [...bySuffix]
    const shown = matches.slice(0, 8)
    throw new ApiError(
      'invalid-arguments',
      `Layer "${spec}" is ambiguous in ${file}: it ends ${matches.length} tensor names (${shown.join(', ')}${matches.length > shown.length ? ', ...' : ''}). Give more of the name.`,
      modelPath,
      { field: 'layer', constraint: 'ambiguous', value: spec, model: file, count: matches.length, closeMatches: shown }
    )
  }
  // A TensorFlow scope (tfjs and tf2onnx names carry no leading '/'): `conv_pw_13_relu` for
  // `conv_pw_13_relu/clip_by_value`, `MobilenetV2/Conv_1` for `MobilenetV2/Conv_1/Relu6`.
  const tfScope = spec.replace(/^\/+|\/+$/g, '') + '/'
  const tfScopes = new Map<string, string>()
  for (const l of fourD) {
    const inner = l.name.indexOf('/' + tfScope)
    const at = l.name.startsWith(tfScope) ? 0 : inner >= 0 ? inner + 1 : -1
    // Keyed by the full scope; the last 4-D tensor under it wins (graph order).
    if (at >= 0) tfScopes.set(l.name.slice(0, at + tfScope.length), l.name)
  }
  if (tfScopes.size === 1) return [...tfScopes.values()][0]
  if (tfScopes.size > 1) {
    const shown = [...tfScopes.keys()].slice(0, 8)
    throw new ApiError('invalid-arguments', `Layer "${spec}" is ambiguous in ${file}: it names ${tfScopes.size} scopes (${shown.join(', ')}). Give more of the name.`, modelPath, {
      field: 'layer',
      constraint: 'ambiguous',
      value: spec,
      model: file,
      count: tfScopes.size,
      closeMatches: shown
    })
  }
  const scopes = new Set<string>()
  for (const l of fourD) {
    const parts = l.name.split('/').filter(Boolean)
    for (let i = 1; i < parts.length; i++) scopes.add(parts.slice(0, i).join('/'))
  }
  const suggestions = closeMatches(module ? module.replace(/^\/|\/$/g, '') : spec, [...new Set([...scopes, ...fourD.map((l) => l.name)])])
  throw new ApiError(
    'not-found',
    `No layer "${spec}" in ${file}${module ? ` (looked for the module scope ${module} too)` : ''}. Close matches: ${suggestions.join(', ')}.`,
    modelPath,
    { field: 'layer', constraint: 'not-found', value: spec, model: file, closeMatches: suggestions }
  )
}

/**
 * `auto`: the last spatial 4-D tensor that feeds a pooling node (the classic Grad-CAM layer), else
 * the last spatial 4-D tensor in the graph.
 */
function autoLayer(index: GraphIndex, shapes: Map<string, number[]>, fourD: LayerInfo[]): string {
  for (let k = index.nodes.length - 1; k >= 0; k--) {
    const n = index.nodes[k]
    if (POOLS.has(n.opType) && isSpatial(shapes.get(n.inputs[0]))) return realProducer(index, shapes, n.inputs[0])
  }
  const spatial = fourD.filter((l) => isSpatial(l.shape))
  return realProducer(index, shapes, (spatial.at(-1) ?? fourD.at(-1)!).name)
}

/** Ops that only re-lay, pad or rename a feature map: `auto` looks through them. */
const WRAPPERS = new Set(['Pad', 'Transpose', 'Identity', 'Reshape'])

/**
 * The tensor a chain of wrappers starts from: tf2onnx and PyTorch-1.x exports put a Transpose
 * (`pre_T__53`) or a Pad (`/Pad_51_output_0`) between the last real layer and the pool, and users
 * know the layer (`Conv_1/Relu6`), not the wrapper. Stops at anything that is not a spatial 4-D
 * tensor made by another node (the model input is never the answer).
 */
function realProducer(index: GraphIndex, shapes: Map<string, number[]>, tensor: string): string {
  let t = tensor
  for (let guard = 0; guard < 16; guard++) {
    const p = index.producer.get(t)
    if (!p || !WRAPPERS.has(p.opType)) break
    const from = p.inputs[0]
    if (!from || !index.producer.has(from) || index.isConstant(from) || !isSpatial(shapes.get(from))) break
    t = from
  }
  return t
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
