import { basename } from 'node:path'
import { onnx } from 'onnx-proto'
import type { AdaptDeep, AdaptPreprocess } from '../../../../shared/fewshot'
import { writeFileAtomic } from '../../files/safe-write'
import type { LoadedModel } from '../../model/loaded-model'
import type { ScoreActivation } from '../../model/scores'
import type { ClassifierHead } from './head'
import { featureChoice, type FeatureTensor } from './features'
import { bodyWithHead, headFeatures, type HeadWeights } from './head-net'
import { withOutputActivation } from './output-activation'
import { withWeights } from './deep/tail'
import type { Adapter } from './adapter/file'
import type { AdapterRecord } from '../../../../shared/fewshot-adapter'

export interface AdaptedModelSpec {
  model: LoadedModel
  modelSha256: string
  head: ClassifierHead
  adapted: HeadWeights
  classes: string[]
  method: string
  steps: number
  innerRate: number
  /** The tensor the head was adapted on; omitted: the original head's input. */
  features?: FeatureTensor
  /** The preprocessing the head was adapted with: the written model states it (metascope.* keys). */
  preprocess?: AdaptPreprocess
  /** Add mode: the old classes kept (labels old + new, the model's output activation); omitted: replace. */
  added?: { labels: string[]; labelFolders: string[]; activation: ScoreActivation; oldClasses: number }
  /** Deeper adaptation: the fine-tuned block weights replace the model's, and adapted_from records what was done. */
  deep?: AdaptDeep & { weights: Map<string, Float32Array> }
  /** A feature adapter: its MatMul goes between the features and the head, and adapted_from records it. */
  adapter?: { adapter: Adapter; record: AdapterRecord }
}

/**
 * The metadata entries that state a preprocessing (src/main/engine/data/preprocess-metadata.ts reads
 * them): the adapted head only fits features made this way, so the adapted model says so, and opens
 * with these fields as stated ('metadata'). The size only for a model whose height and width are open.
 */
function preprocessEntries(pre: AdaptPreprocess, dynamicSize: boolean): [string, string][] {
  return [
    ['metascope.normalization', pre.normalization],
    ['metascope.resize', pre.resize],
    // A greyscale model has no channel order to state.
    ...(pre.channels === 3 ? [['metascope.channel_order', pre.channelOrder] as [string, string]] : []),
    ...(dynamicSize ? [['metascope.size', `${pre.size.width}x${pre.size.height}`] as [string, string]] : [])
  ]
}

/** Keys that describe the original classes or its measured accuracy, so no longer hold. */
const DROPPED = new Set(['labels', 'classes', 'class_names', 'metascope.label_folders', 'metascope.test_accuracy', 'metascope.description', 'metascope.adapted_from'])

/**
 * The adapted classifier as a standalone ONNX model: the original graph up to the features, then the
 * new head Gemm with the adapted weights, output `logits` [batch, N] (no softmax). Metadata: `labels`
 * (the new class names, as a JSON array), the preprocessing the head was adapted with (the
 * `metascope.*` preprocessing keys, replacing the original's), the original metadata that still
 * applies, and `metascope.adapted_from` (file, sha256, method, steps, inner rate, head, preprocess, features).
 * Add mode (spec.added): the head holds the old rows then the new, the labels are old + new, and the
 * output keeps the original's activation; adapted_from says mode 'add'.
 */
export function adaptedModelBytes(spec: AdaptedModelSpec): Uint8Array {
  const { model: head } = bodyWithHead(spec.model, spec.features ?? headFeatures(spec.head), spec.adapted, spec.adapter?.adapter)
  // Added classes keep the original's output activation (its Softmax or Sigmoid); a new classifier ends in logits.
  const activated = spec.added ? withOutputActivation(head, spec.added.activation) : head
  const built = spec.deep ? withWeights(activated, spec.deep.weights) : activated
  const metadataProps: onnx.StringStringEntryProto[] = []
  const stated = spec.preprocess ? preprocessEntries(spec.preprocess, spec.model.dynamicSize) : []
  const restated = new Set(stated.map(([key]) => key))
  for (const p of spec.model.model.metadataProps) {
    if (p.key && !DROPPED.has(p.key) && !restated.has(p.key)) metadataProps.push(onnx.StringStringEntryProto.create({ key: p.key, value: p.value ?? '' }))
  }
  const add = (key: string, value: string) => metadataProps.push(onnx.StringStringEntryProto.create({ key, value }))
  add('labels', JSON.stringify(spec.added?.labels ?? spec.classes))
  for (const [key, value] of stated) add(key, value)
  // The class folder names are the labels themselves (in add mode the old classes keep theirs).
  add('metascope.label_folders', JSON.stringify(spec.added?.labelFolders ?? spec.classes))
  add(
    'metascope.adapted_from',
    JSON.stringify({
      file: basename(spec.model.path),
      sha256: spec.modelSha256,
      method: spec.method,
      steps: spec.steps,
      innerRate: spec.innerRate,
      head: spec.head.node.name,
      originalClasses: spec.head.numClasses,
      ...(spec.features ? { features: featureChoice(spec.features) } : {}),
      ...(spec.preprocess ? { preprocess: spec.preprocess } : {}),
      ...(spec.added ? { mode: 'add', addedClasses: spec.classes } : {}),
      ...(spec.deep ? { deep: deepRecord(spec.deep) } : {}),
      ...(spec.adapter ? { adapter: spec.adapter.record } : {})
    })
  )
  add(
    'metascope.description',
    spec.added
      ? `${basename(spec.model.path)} with ${spec.classes.length} classes added to its ${spec.added.oldClasses} (weight imprinting, ${spec.steps} refinement steps).`
      : `${basename(spec.model.path)} adapted to ${spec.classes.length} new classes with ${spec.method} (${spec.steps} steps).`
  )
  const out = onnx.ModelProto.create({ ...built, metadataProps, producerName: 'metascope', docString: built.docString ?? '' })
  return onnx.ModelProto.encode(out).finish()
}

/** What adapted_from records of deeper adaptation: its settings and choices, not the weights or timings. */
function deepRecord(d: AdaptDeep & { weights: unknown }): Record<string, unknown> {
  const { weights: _w, ms: _ms, heldOutLoss: _h, ...record } = d
  return { ...record, earlyStopped: d.heldOutLoss !== null }
}

/** Writes the adapted model atomically (write, then rename). */
export async function writeAdaptedModel(path: string, spec: AdaptedModelSpec): Promise<void> {
  await writeFileAtomic(path, adaptedModelBytes(spec))
}
