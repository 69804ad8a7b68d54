import { basename } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import type { ModelProto } from '../onnx/model-file'
import type { Weight } from './tfjs-files'
import { LAYER_RULES, toChannelsLast, type KTensor, type LayerArgs, type LayerCtx, type LayerJson } from './tfjs-layer-rules'
import { OnnxWriter } from './tfjs-onnx'

/**
 * TensorFlow.js LayersModel (Keras topology) -> ONNX. Sequential and Functional models, nested to any
 * depth (Teachable Machine writes a Sequential holding a Functional MobileNet base and a Sequential
 * head). Each layer's output tensor is named by its Keras layer name; the input stays NHWC and is
 * transposed once to NCHW, and 4-D tensors stay NCHW until something reads them in Keras order.
 */

export const NESTED = new Set(['Sequential', 'Model', 'Functional'])

type Ref = [string, number, number]

function fail(ctx: LayerCtx, message: string, details?: Record<string, unknown>): ApiError {
  return new ApiError('unsupported', `${basename(ctx.modelPath)}: ${message}`, ctx.modelPath, details)
}

export const layerName = (l: LayerJson) => String(l.config?.name ?? l.name ?? '')

/** The Keras input shape a layer config declares (batch first), if any. */
function declaredShape(cfg: Record<string, unknown>): (number | null)[] | null {
  const b = (cfg.batch_input_shape ?? cfg.batch_shape) as (number | null)[] | undefined
  if (Array.isArray(b)) return b.map((d) => (d === null || d === undefined ? null : Number(d)))
  const s = cfg.input_shape as (number | null)[] | undefined
  if (Array.isArray(s)) return [null, ...s.map((d) => (d === null || d === undefined ? null : Number(d)))]
  return null
}

/** A model graph input, NHWC as the model declares it, with the NCHW copy the convs read. */
function graphInput(ctx: WalkCtx, name: string, shape: (number | null)[]): KTensor {
  const dims = shape.map((d, i) => (d === null ? (i === 0 ? 'batch' : `${name}_dim${i}`) : d))
  const n = ctx.w.input(name, dims)
  ctx.inputs.push(n)
  if (shape.length !== 4) return { name: n, shape }
  return { name: ctx.w.op('Transpose', [n], { perm: [0, 3, 1, 2] }, `${n}/nchw`), shape }
}

interface WalkCtx extends LayerCtx {
  inputs: string[]
}

function findWeight(ctx: WalkCtx, name: string, path: string[], key: string): Weight | null {
  const candidates = [`${name}/${key}`, `${[...path, name].join('/')}/${key}`]
  for (const c of candidates) {
    const w = ctx.weights.get(c)
    if (w) return w
  }
  // Keras/tfjs versions differ in how they scope nested weights: accept a unique `.../name/key`.
  const suffix = `/${name}/${key}`
  const hits = [...ctx.weights.keys()].filter((k) => k.endsWith(suffix) || k.endsWith(`${suffix}_1`))
  return hits.length === 1 ? ctx.weights.get(hits[0])! : null
}

function applyLayer(ctx: WalkCtx, layer: LayerJson, inputs: KTensor[], path: string[]): KTensor[] {
  const cls = layer.class_name
  const name = layerName(layer)
  if (NESTED.has(cls)) return runModel(ctx, layer, inputs, path)
  if (cls === 'InputLayer') return inputs
  const rule = LAYER_RULES[cls]
  if (!rule) {
    throw fail(ctx, `layer ${name} has class ${cls}, which Metascope cannot convert yet. Supported layers: ${Object.keys(LAYER_RULES).join(', ')}.`, {
      ...fileDetails('model', ctx.modelPath, 'unsupported-layer'),
      layer: name,
      className: cls
    })
  }
  const args: LayerArgs = {
    ctx,
    name,
    cls,
    cfg: layer.config ?? {},
    path,
    weight(key, optional = false) {
      const w = findWeight(ctx, name, path, key)
      if (!w && !optional) {
        throw new ApiError('bad-file', `${basename(ctx.modelPath)}: the weights of layer ${name} (${cls}) lack ${name}/${key} in the weightsManifest.`, ctx.modelPath, {
          layer: name
        })
      }
      return w
    }
  }
  return [rule(args, inputs)]
}

/** Refs a Keras inbound node lists, in either serialisation (Keras 2/tfjs lists, Keras 3 keras_history). */
export function inboundRefs(node: unknown): Ref[] {
  if (Array.isArray(node)) {
    if (node.length >= 3 && typeof node[0] === 'string' && typeof node[1] === 'number') return [[node[0], node[1], Number(node[2])]]
    return node.flatMap(inboundRefs)
  }
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>
    const config = o.config as Record<string, unknown> | undefined
    if (o.class_name === '__keras_tensor__' && Array.isArray(config?.keras_history)) {
      const h = config.keras_history as [string, number, number]
      return [[h[0], Number(h[1]), Number(h[2])]]
    }
    return 'args' in o ? inboundRefs(o.args) : []
  }
  return []
}

function runSequential(ctx: WalkCtx, name: string, layers: LayerJson[], inputs: KTensor[] | null, path: string[]): KTensor[] {
  if (layers.length === 0) throw fail(ctx, `model ${name} has no layers.`)
  let xs: KTensor[]
  if (inputs) xs = inputs
  else {
    const first = layers[0]
    const shape = declaredShape(first.config ?? {}) ?? firstShapeOfNested(first)
    if (!shape) throw fail(ctx, `model ${name} does not declare its input shape (no batch_input_shape on its first layer ${layerName(first)}).`)
    xs = [graphInput(ctx, first.class_name === 'InputLayer' ? layerName(first) : `${layerName(first)}_input`, shape)]
  }
  for (const layer of layers) xs = applyLayer(ctx, layer, xs, [...path, name])
  return xs
}

/** The input shape of a nested model used as the first layer of a Sequential. */
function firstShapeOfNested(layer: LayerJson): (number | null)[] | null {
  if (!NESTED.has(layer.class_name)) return null
  const cfg = layer.config as Record<string, unknown>
  const layers = (Array.isArray(cfg) ? cfg : cfg.layers) as LayerJson[] | undefined
  const first = layers?.[0]
  return first ? (declaredShape(first.config ?? {}) ?? firstShapeOfNested(first)) : null
}

function runFunctional(ctx: WalkCtx, cfg: Record<string, unknown>, inputs: KTensor[] | null, path: string[]): KTensor[] {
  const name = String(cfg.name ?? 'model')
  const layers = (cfg.layers ?? []) as LayerJson[]
  const byName = new Map(layers.map((l) => [layerName(l), l]))
  const outputsOf = new Map<string, KTensor[][]>()
  const inputRefs = inboundRefs(cfg.input_layers)
  inputRefs.forEach(([ln], i) => {
    const l = byName.get(ln)
    let t: KTensor
    if (inputs) {
      if (!inputs[i]) throw fail(ctx, `model ${name} takes ${inputRefs.length} inputs but is given ${inputs.length}.`)
      t = inputs[i]
    } else {
      const shape = l ? declaredShape(l.config ?? {}) : null
      if (!shape) throw fail(ctx, `input ${ln} of model ${name} does not declare its shape.`)
      t = graphInput(ctx, ln, shape)
    }
    outputsOf.set(ln, [[t]])
  })
  const lookup = ([ln, node, tensor]: Ref): KTensor | undefined => {
    const calls = outputsOf.get(ln)
    // Keras numbers a nested model's calls after its own internal node; with one call take it.
    const call = calls?.[node] ?? (calls?.length === 1 ? calls[0] : undefined)
    return call?.[tensor]
  }
  // Layers are stored in topological order; a few passes cover files that are not.
  const pending = layers.filter((l) => l.class_name !== 'InputLayer' || !outputsOf.has(layerName(l)))
  let progress = true
  while (pending.length && progress) {
    progress = false
    for (let i = 0; i < pending.length; i++) {
      const layer = pending[i]
      const ln = layerName(layer)
      const nodes = (layer.inbound_nodes ?? []) as unknown[]
      const refs = nodes.map(inboundRefs)
      if (!refs.every((r) => r.every((ref) => lookup(ref)))) continue
      outputsOf.set(
        ln,
        refs.map((r) => applyLayer(ctx, layer, r.map((ref) => lookup(ref)!), [...path, name]))
      )
      pending.splice(i--, 1)
      progress = true
    }
  }
  if (pending.length) throw fail(ctx, `model ${name}: layers ${pending.map(layerName).join(', ')} read tensors no layer produces.`)
  return inboundRefs(cfg.output_layers).map((ref) => {
    const t = lookup(ref)
    if (!t) throw fail(ctx, `model ${name} names output ${ref[0]}, which it does not compute.`)
    return t
  })
}

function runModel(ctx: WalkCtx, model: LayerJson, inputs: KTensor[] | null, path: string[]): KTensor[] {
  const cfg = model.config as unknown
  if (model.class_name === 'Sequential') {
    const layers = (Array.isArray(cfg) ? cfg : (cfg as { layers?: LayerJson[] }).layers) ?? []
    const name = Array.isArray(cfg) ? String(model.name ?? 'sequential') : String((cfg as { name?: string }).name ?? 'sequential')
    return runSequential(ctx, name, layers, inputs, path)
  }
  return runFunctional(ctx, cfg as Record<string, unknown>, inputs, path)
}

/** Converts a LayersModel topology with its decoded weights. */
export function convertLayersModel(topology: unknown, weights: Map<string, Weight>, modelPath: string): { model: ModelProto; bytes: Uint8Array; warnings: string[] } {
  const topo = topology as Record<string, unknown>
  // Keras' own model.json nests the model under model_config.
  const root = (topo.model_config ?? topo) as LayerJson
  const ctx: WalkCtx = { w: new OnnxWriter(), weights, modelPath, inputs: [] }
  if (!root || !NESTED.has(root.class_name)) {
    throw new ApiError('bad-file', `${basename(modelPath)} is not a Keras model topology (class ${String(root?.class_name)}).`, modelPath)
  }
  const outputs = runModel(ctx, root, null, [])
  outputs.forEach((t, i) => {
    // Outputs keep Keras' layout: a 4-D output goes back to channels-last.
    const name = t.shape.length === 4 ? toChannelsLast(ctx.w, t, `${t.name}/nhwc_output_${i}`) : t.name
    ctx.w.output(name)
  })
  const { model, bytes } = ctx.w.build(layerName(root) || 'tfjs-layers-model', 'metascope tfjs-layers import')
  return { model, bytes, warnings: [] }
}
