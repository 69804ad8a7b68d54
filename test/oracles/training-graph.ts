import { ApiError } from '../../src/shared/errors'
import type { EpisodeGraph } from '../../src/main/engine/fewshot/episode-graph'
import { buildUnrolled } from '../../src/main/engine/fewshot/unroll'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import type { ModelProto } from '../../src/main/engine/onnx/model-file'

/** Which weights train: every one, the classifier head, the last k blocks, or names / module scopes. */
export type TrainableSpec = 'all' | 'head' | { lastBlocks: number } | { names: string[] }

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

/**
 * A weight's block, as PyTorch's nn.Sequential names them: its first name component, plus the second
 * when that is an index (`layer4.1.conv2.weight` -> `layer4.1`, `block4.bn.weight` -> `block4`,
 * `features.10.weight` -> `features.10`). Weights the exporter renamed (`onnx::Conv_117`, BatchNorm
 * folded into the conv) take the module scope of the node that reads them (`/layer4/layer4.1/conv2/Conv`
 * -> `layer4.1`).
 */
export function blockOf(p: Pick<ParamInfo, 'name' | 'node'>): string {
  const named = (path: string[]) => path.find((c) => /\.\d+$/.test(c)) ?? path[0]
  const parts = p.name.split('.')
  if (parts.length >= 2 && !p.name.includes('::')) return /^\d+$/.test(parts[1]) && parts.length > 2 ? `${parts[0]}.${parts[1]}` : parts[0]
  const scope = p.node.split('/').filter(Boolean).slice(0, -1)
  return scope.length ? named(scope) : p.name
}

/** Resolves a TrainableSpec to weight names; `head` is the classifier's [weight, bias]. */
export function selectTrainable(params: ParamInfo[], spec: TrainableSpec, head: string[]): string[] {
  if (spec === 'all') return params.map((p) => p.name)
  if (spec === 'head') return head.filter(Boolean)
  if ('lastBlocks' in spec) {
    const blocks = [...new Set(params.map(blockOf))]
    const keep = new Set(blocks.slice(Math.max(0, blocks.length - spec.lastBlocks)))
    return params.filter((p) => keep.has(blockOf(p))).map((p) => p.name)
  }
  const chosen = params.filter((p) => spec.names.some((s) => p.name === s || p.name.startsWith(`${s}.`) || p.name.startsWith(`${s}/`)))
  const unmatched = spec.names.filter((s) => !chosen.some((p) => p.name === s || p.name.startsWith(`${s}.`) || p.name.startsWith(`${s}/`)))
  if (unmatched.length) {
    const known = params.slice(0, 12).map((p) => p.name).join(', ')
    throw new ApiError('not-found', `No trainable weights named or under ${unmatched.join(', ')} (weights include ${known}${params.length > 12 ? ', ...' : ''}).`)
  }
  return chosen.map((p) => p.name)
}

export interface TrainingGraphSpec {
  model: ModelProto
  inputName: string
  /** [C, H, W] of one image (channels-first input). */
  inputChw: [number, number, number]
  /** The class scores (before any final softmax). */
  logitsName: string
  classes: number
  batch: number
  trainable: string[]
}

/**
 * A training graph: inputs `query` (the image batch), `query_labels` (one-hot) and the trainable
 * weights; outputs the mean softmax cross-entropy, the logits and every weight's gradient, in one
 * onnxruntime run. It is the unrolled inner loop with no inner steps (fewshot/unroll.ts), so plain
 * training and meta-learning share one compiler.
 */
export function compileTrainingGraph(s: TrainingGraphSpec): Promise<EpisodeGraph> {
  return buildUnrolled({
    net: { model: s.model, inputName: s.inputName, inputChw: s.inputChw, logitsName: s.logitsName, featuresName: s.logitsName, featureDim: 0, params: s.trainable, headParams: ['', ''] },
    metaParams: s.trainable,
    inner: [],
    steps: 0,
    alpha: 0,
    order: 'first',
    headInit: 'params',
    ways: s.classes,
    supportBatch: s.batch,
    queryBatch: s.batch
  })
}
