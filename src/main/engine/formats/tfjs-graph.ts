import { basename } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import type { ModelProto } from '../onnx/model-file'
import type { TfjsModelJson, Weight } from './tfjs-files'
import { GRAPH_RULES, type GraphCtx, type TfNode, type TfValue } from './tfjs-graph-rules'
import { OnnxWriter } from './tfjs-onnx'

/**
 * TensorFlow.js GraphModel (tfjs-converter's TF op nodes) -> ONNX. Every node's output tensor keeps
 * the TF node name (`MobilenetV2/Conv_1/Relu6`). TF computes NHWC; the converted graph keeps the
 * NHWC input and holds 4-D activations NCHW from the first conv on (transposing lazily, once per
 * tensor, where an op needs TF's element order), so the CAM code sees NCHW conv activations.
 */

/** `name`, `name:1` (output index) or `^name` (a control dependency, not data). */
function parseInput(ref: string): { node: string; index: number } | null {
  if (ref.startsWith('^')) return null
  const m = /^(.*):(\d+)$/.exec(ref)
  return m ? { node: m[1], index: Number(m[2]) } : { node: ref, index: 0 }
}

function placeholderShape(node: TfNode): (number | null)[] {
  const dims = ((node.attr?.shape as { shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean } } | undefined)?.shape?.dim ?? []).map((d) =>
    Number(d.size ?? -1)
  )
  return dims.map((d) => (d < 0 ? null : d))
}

export function convertGraphModel(json: TfjsModelJson, weights: Map<string, Weight>, modelPath: string): { model: ModelProto; bytes: Uint8Array; warnings: string[] } {
  const file = basename(modelPath)
  const topo = json.modelTopology as { node?: TfNode[] }
  const nodes = topo.node ?? []
  if (!nodes.length) throw new ApiError('bad-file', `${file} is a TensorFlow.js GraphModel with no nodes.`, modelPath)
  const byName = new Map(nodes.map((n) => [n.name, n]))
  const w = new OnnxWriter()
  const values = new Map<string, TfValue[]>()
  const ctx: GraphCtx = { w, weights, modelPath, values, byName }
  const consumed = new Set<string>()
  for (const n of nodes) for (const ref of n.input ?? []) {
    const p = parseInput(ref)
    if (p) consumed.add(p.node)
  }

  // Visit in dependency order (tfjs-converter writes topological order; do not rely on it).
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return
    const node = byName.get(name)
    if (!node) throw new ApiError('bad-file', `${file}: a node reads ${name}, which the graph does not define.`, modelPath)
    if (state.get(name) === 'visiting') throw new ApiError('unsupported', `${file}: node ${name} is part of a cycle (control flow is not supported).`, modelPath)
    state.set(name, 'visiting')
    const refs = (node.input ?? []).map(parseInput).filter((r): r is { node: string; index: number } => r !== null)
    for (const r of refs) visit(r.node)
    const inputs = refs.map((r) => {
      const v = values.get(r.node)?.[r.index]
      if (!v) throw new ApiError('unsupported', `${file}: node ${name} reads output ${r.index} of ${r.node}, which the converter does not produce.`, modelPath)
      return v
    })
    if (node.op === 'Placeholder' || node.op === 'PlaceholderWithDefault') {
      const shape = placeholderShape(node)
      const dims = shape.map((d, i) => (d === null ? (i === 0 ? 'batch' : `${name}_dim${i}`) : d))
      values.set(name, [{ name: w.input(name, dims), rank: shape.length, layout: 'tf', shape }])
    } else {
      const rule = GRAPH_RULES[node.op]
      if (!rule) {
        throw new ApiError('unsupported', `${file}: node ${name} uses the TensorFlow op ${node.op}, which Metascope cannot convert yet. Supported ops: ${Object.keys(GRAPH_RULES).join(', ')}.`, modelPath, {
          ...fileDetails('model', modelPath, 'unsupported-op'),
          node: name,
          op: node.op
        })
      }
      values.set(name, rule(ctx, node, inputs))
    }
    state.set(name, 'done')
  }
  const signature = json.signature as { outputs?: Record<string, { name?: string }> } | undefined
  const sigOutputs = Object.values(signature?.outputs ?? {})
    .map((o) => o.name?.replace(/:0$/, ''))
    .filter((n): n is string => !!n && byName.has(n))
  const outputs = sigOutputs.length ? sigOutputs : nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp' && n.op !== 'Placeholder').map((n) => n.name)
  for (const n of nodes) if (n.op === 'Placeholder') visit(n.name)
  for (const o of outputs) visit(o)
  for (const o of outputs) {
    const v = values.get(o)![0]
    if (v.isConst) throw new ApiError('unsupported', `${file}: output ${o} is a constant.`, modelPath)
    // Outputs keep TF's layout.
    w.output(v.rank === 4 && v.layout === 'nchw' ? w.op('Transpose', [v.name], { perm: [0, 2, 3, 1] }, `${o}/nhwc_output`) : v.name)
  }
  const { model, bytes } = w.build(file.replace(/\.json$/i, ''), 'metascope tfjs-graph import')
  return { model, bytes, warnings: [] }
}
