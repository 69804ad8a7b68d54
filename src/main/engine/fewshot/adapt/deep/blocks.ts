import { ApiError } from '../../../../../shared/errors'
import type { GraphIndex } from '../../../onnx/ir'
import type { LoadedModel } from '../../../model/loaded-model'

/**
 * Weights and blocks of an imported model, for fine-tuning its last k blocks (docs/fewshot-adapt.md,
 * "Deeper adaptation"). A block is the unit a user counts from the end: a residual or inverted-residual
 * unit as the exporter named it, or a plain layer (a conv such as MobileNetV2's Conv_1) on its own.
 */

/** Input slots that hold trainable weights, per op (running statistics and shapes do not train). */
const WEIGHT_SLOTS: Record<string, number[]> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
  InstanceNormalization: [1, 2],
  LayerNormalization: [1, 2],
  PRelu: [1],
  Add: [0, 1],
  Mul: [0, 1]
}

export interface ParamInfo {
  name: string
  dims: number[]
  size: number
  op: string
  node: string
}

/** The model's trainable weights in graph order: float initializers in the weight slots of the ops above. */
export function findParameters(index: GraphIndex): ParamInfo[] {
  const seen = new Set<string>()
  const out: ParamInfo[] = []
  for (const n of index.nodes) {
    for (const slot of WEIGHT_SLOTS[n.opType] ?? []) {
      const name = n.inputs[slot]
      if (!name || seen.has(name) || !index.initializerNames.has(name)) continue
      const c = index.constant(name)
      // Scalars in Add/Mul are constants of the arithmetic (x / 255, x * 2), not weights.
      if (!c || !(c.data instanceof Float32Array) || ((n.opType === 'Add' || n.opType === 'Mul') && c.data.length < 2)) continue
      seen.add(name)
      out.push({ name, dims: c.dims, size: c.data.length, op: n.opType, node: n.name })
    }
  }
  return out
}

/** Keras' block prefixes: `block_16_expand` -> `block_16`, `conv2_block1_1_conv` -> `conv2_block1`, `block1a_dwconv` -> `block1a`, `expanded_conv_project` -> `expanded_conv`. */
const KERAS_BLOCK = /^(.*?block_?\d+[a-z]?|expanded_conv(?:_\d+)?)(?:_|$)/

/**
 * A weight's block. PyTorch (nn.Sequential names): its first name component, plus the second when
 * that is an index (`layer4.1.conv2.weight` -> `layer4.1`, `features.10.weight` -> `features.10`);
 * weights the exporter renamed (`onnx::Conv_117`) take the module scope of the node that reads them
 * (`/layer4/layer4.1/conv2/Conv` -> `layer4.1`). Keras (tfjs layers, `layer/kernel`): the block
 * prefix of the layer name (KERAS_BLOCK), else the layer itself (`Conv_1/kernel` -> `Conv_1`).
 */
export function blockOf(p: Pick<ParamInfo, 'name' | 'node'>): string {
  const named = (path: string[]) => path.find((c) => /\.\d+$/.test(c)) ?? path[0]
  const parts = p.name.split('.')
  if (parts.length >= 2 && !p.name.includes('::') && !p.name.includes('/')) return /^\d+$/.test(parts[1]) && parts.length > 2 ? `${parts[0]}.${parts[1]}` : parts[0]
  if (p.name.includes('/') && !p.name.startsWith('/')) {
    const layer = p.name.split('/')[0]
    return KERAS_BLOCK.exec(layer)?.[1] ?? layer
  }
  const scope = p.node.split('/').filter(Boolean).slice(0, -1)
  return scope.length ? named(scope) : p.name
}

/** BatchNorm stays in inference mode with its statistics and affine frozen: only these ops' weights fine-tune. */
const FROZEN_OPS = new Set(['BatchNormalization'])

export interface ModelBlock {
  name: string
  /** Its weights that fine-tune (BatchNorm's excluded). */
  params: string[]
}

/** Tensors `tensor` is computed from (itself included), walking producers back to the graph inputs. */
function ancestors(index: GraphIndex, tensor: string): Set<string> {
  const seen = new Set<string>()
  const stack = [tensor]
  while (stack.length) {
    const t = stack.pop()!
    if (!t || seen.has(t)) continue
    seen.add(t)
    const p = index.producer.get(t)
    if (p) stack.push(...p.inputs)
  }
  return seen
}

/** The blocks of the body that computes `features`, in graph order (the classifier after it is not counted). */
export function bodyBlocks(model: LoadedModel, features: string): ModelBlock[] {
  const upstream = ancestors(model.index, features)
  const blocks = new Map<string, string[]>()
  for (const p of findParameters(model.index)) {
    if (FROZEN_OPS.has(p.op) || !upstream.has(p.name)) continue
    const b = blockOf(p)
    blocks.set(b, [...(blocks.get(b) ?? []), p.name])
  }
  return [...blocks].map(([name, params]) => ({ name, params }))
}

export interface DeepCut {
  /** The blocks that fine-tune, first to last. */
  blocks: ModelBlock[]
  trainable: string[]
  /** The tensor the first of them reads: the frozen part runs up to it once per image. */
  cut: string
  /** Its shape per image (after the batch axis): [C, H, W]. */
  cutShape: [number, number, number]
}

/**
 * The last `depth` blocks before `features` and the cut tensor in front of them. Refuses a depth
 * beyond the body's blocks (field 'depth', with the count and the names), and a cut the tail cannot
 * start from: a tensor from before the cut used after it (a skip connection across it).
 */
export function lastBlocks(model: LoadedModel, features: string, depth: number): DeepCut {
  const all = bodyBlocks(model, features)
  if (depth < 1 || depth > all.length) {
    const names = all.map((b) => b.name)
    const shown = names.length > 12 ? [...names.slice(0, 3), '...', ...names.slice(-8)] : names
    throw new ApiError(
      'out-of-range',
      `${model.file} has ${all.length} blocks before its features ${features} (${shown.join(', ')}); fine-tune between 1 and ${all.length} of them, not ${depth}.`,
      model.path,
      { field: 'depth', constraint: 'blocks', value: depth, max: all.length, blocks: names, file: model.file }
    )
  }
  const blocks = all.slice(all.length - depth)
  const trainable = blocks.flatMap((b) => b.params)
  const first = model.index.nodes.find((n) => n.inputs.some((i) => trainable.includes(i)))!
  const cut = first.inputs.find((i) => i && !model.index.isConstant(i))
  const shape = cut ? model.shapes.get(cut) : undefined
  if (!cut || !shape || shape.length !== 4) {
    throw new ApiError('unsupported', `The block ${blocks[0].name} of ${model.file} reads no [batch, C, H, W] tensor the fine-tuning can start from.`, model.path, { field: 'depth', constraint: 'no-cut', value: depth, block: blocks[0].name, file: model.file })
  }
  // Everything the features need past the cut must come from the cut or the weights, not from the image again.
  const stack = [features]
  const seen = new Set<string>()
  while (stack.length) {
    const t = stack.pop()!
    if (!t || t === cut || seen.has(t)) continue
    seen.add(t)
    const p = model.index.producer.get(t)
    if (p) stack.push(...p.inputs)
    else if (!model.index.initializerNames.has(t)) {
      throw new ApiError('unsupported', `Fine-tuning the last ${depth} blocks of ${model.file} would start at ${cut}, but ${features} also reads ${t} from before it; choose another depth.`, model.path, {
        field: 'depth',
        constraint: 'skip-across',
        value: depth,
        file: model.file
      })
    }
  }
  return { blocks, trainable, cut, cutShape: [shape[1], shape[2], shape[3]] }
}
