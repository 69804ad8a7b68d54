import { basename } from 'node:path'
import { onnx } from 'onnx-proto'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import { inferElemTypes } from './elem-types'
import { decodeAttr, GraphIndex, type AttrValue } from './ir'
import { graphOf, toNumber, type ModelProto } from './model-file'
import { DataType, encodeTensor, f32, i64, type ConstTensor } from './tensor-data'
import { CHANGED_SINCE_7, COMPATIBLE, REMOVED_OPS, UPGRADE_RULES, type UpgradeContext } from './upgrade-rules'

/**
 * Upgrades an opset 7-12 model in memory to opset 13, the opset the VJP rules and the graphs the
 * engine appends are written for (ReduceSum/Squeeze/Unsqueeze/Split take their axes as inputs,
 * Softmax normalises over one axis). onnx's own version converter cannot do this for many real
 * exports (e.g. Paddle2ONNX's opset-9 models), and users cannot always re-export, so the engine does
 * it: one rule per changed op (upgrade-rules.ts); an op that changed and has no rule is an error
 * naming the op, the node and the opset.
 */

export const TARGET_OPSET = 13
export const MIN_UPGRADABLE_OPSET = 7

/** Ops whose bodies are graphs: their subgraphs would need upgrading too, which is not done. */
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan'])

export function defaultOpset(model: ModelProto): number {
  const ai = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')
  return ai ? toNumber(ai.version) : 1
}

export interface UpgradeOptions {
  /** The file, for messages. */
  file: string
  /** Static shapes from a probe run of the original model (ranks for Softmax's axis), when known. */
  shapes?: Map<string, number[]>
}

export interface UpgradeResult {
  model: ModelProto
  from: number
  to: number
  /** Nodes a rule rewrote, by op type. */
  rewritten: Record<string, number>
}

/** Ranks declared in the file (inputs, outputs, value_info, initializers). */
function declaredRanks(model: ModelProto): Map<string, number> {
  const g = graphOf(model)
  const ranks = new Map<string, number>()
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) {
    const dims = v.type?.tensorType?.shape?.dim
    if (v.name && dims) ranks.set(v.name, dims.length)
  }
  for (const t of g.initializer) if (t.name) ranks.set(t.name, (t.dims ?? []).length)
  return ranks
}

function scalarOf(value: number, elemType: number): ConstTensor {
  switch (elemType) {
    case DataType.FLOAT:
      return f32([value], [])
    case DataType.DOUBLE:
      return { dataType: DataType.DOUBLE, dims: [], data: Float64Array.from([value]) }
    case DataType.INT32:
      return { dataType: DataType.INT32, dims: [], data: Int32Array.from([value]) }
    case DataType.INT64:
      return i64([value], [])
    default:
      throw new Error(`a constant of element type ${elemType} cannot be written`)
  }
}

/**
 * Returns the model at opset 13 (a new ModelProto; the input is not changed), or the model itself
 * when its opset is 13 or newer.
 */
export function upgradeModel(model: ModelProto, opts: UpgradeOptions): UpgradeResult {
  const from = defaultOpset(model)
  const file = basename(opts.file)
  if (from >= TARGET_OPSET) return { model, from, to: from, rewritten: {} }
  if (from < MIN_UPGRADABLE_OPSET) {
    throw new ApiError('unsupported', `${file} uses ONNX opset ${from}; Metascope upgrades models from opset ${MIN_UPGRADABLE_OPSET} on (re-export with a newer opset).`, opts.file, fileDetails('model', opts.file, 'opset', { opset: from, min: MIN_UPGRADABLE_OPSET }))
  }
  const g = graphOf(model)
  const index = new GraphIndex(model)
  const types = inferElemTypes(index)
  const ranks = declaredRanks(model)
  for (const [name, dims] of opts.shapes ?? []) ranks.set(name, dims.length)
  const taken = new Set<string>()
  for (const n of g.node) for (const t of [...(n.input ?? []), ...(n.output ?? [])]) taken.add(t)
  for (const t of [...g.initializer, ...g.input, ...g.output]) taken.add(t.name ?? '')
  const added: onnx.ITensorProto[] = []
  const rewritten: Record<string, number> = {}
  const nodes: onnx.INodeProto[] = []

  g.node.forEach((node, i) => {
    const op = node.opType ?? ''
    const domain = node.domain ?? ''
    if (domain !== '' && domain !== 'ai.onnx') {
      nodes.push(node)
      return
    }
    const name = node.name || `${op}_${i}`
    const fail = (why: string): never => {
      throw new ApiError('unsupported', `${file} (ONNX opset ${from}): cannot upgrade ${op} node "${name}" to opset ${TARGET_OPSET}: ${why}.`, opts.file, { ...fileDetails('model', opts.file, 'upgrade-op', { why }), op, node: name, opset: from })
    }
    if (REMOVED_OPS.has(op)) fail(`${op} is an experimental op that was dropped from the ONNX standard`)
    if (SUBGRAPH_OPS.has(op)) fail(`${op} holds subgraphs, which Metascope does not upgrade (re-export with opset ${TARGET_OPSET} or newer)`)
    const rule = UPGRADE_RULES[op]
    if (rule && from < rule.before) {
      const attrs: Record<string, AttrValue> = {}
      for (const a of node.attribute ?? []) {
        const v = decodeAttr(a)
        if (v !== undefined && a.name) attrs[a.name] = v
      }
      let counter = 0
      const fresh = (hint: string) => {
        let t = `${name}/${hint}`
        while (taken.has(t)) t = `${name}/${hint}_${++counter}`
        taken.add(t)
        return t
      }
      const constant = (hint: string, value: ConstTensor) => {
        const t = fresh(hint)
        added.push(encodeTensor(t, value))
        return t
      }
      const ctx: UpgradeContext = {
        node,
        name,
        attrs,
        opset: from,
        rank: (t) => ranks.get(t),
        elemType: (t) => types.get(t) ?? DataType.FLOAT,
        int64: (values, dims) => constant('const', i64(values, dims)),
        float32: (values, dims) => constant('const', f32(values, dims ?? [values.length])),
        scalar: (value, elemType) => {
          try {
            return constant('const', scalarOf(value, elemType))
          } catch (err) {
            return fail((err as Error).message)
          }
        },
        fresh,
        fail
      }
      nodes.push(...rule.upgrade(ctx))
      rewritten[op] = (rewritten[op] ?? 0) + 1
      return
    }
    const changes = (CHANGED_SINCE_7[op] ?? []).filter((v) => v > from && v <= TARGET_OPSET)
    if (changes.length && !COMPATIBLE.has(op)) fail(`its definition changed at opset ${changes.join(', ')} and Metascope has no rule to upgrade it`)
    nodes.push(node)
  })

  const initializers = [...g.initializer, ...added]
  const initNames = new Set(initializers.map((t) => t.name ?? ''))
  const graph = onnx.GraphProto.create({
    ...g,
    node: nodes,
    initializer: initializers,
    // IR >= 4: initializers need not (and, to stay constant for onnxruntime, should not) be inputs.
    input: g.input.filter((v) => !initNames.has(v.name ?? ''))
  })
  const opsetImport = model.opsetImport.map((o) =>
    !o.domain || o.domain === 'ai.onnx' ? onnx.OperatorSetIdProto.create({ domain: o.domain, version: TARGET_OPSET }) : o
  )
  // Opset 13 belongs to IR version 7.
  const irVersion = Math.max(toNumber(model.irVersion), 7)
  return { model: onnx.ModelProto.create({ ...model, irVersion, opsetImport, graph }), from, to: TARGET_OPSET, rewritten }
}
