import { basename } from 'node:path'
import { onnx } from 'onnx-proto'
import { writeFileAtomic } from '../../files/safe-write'
import type { LoadedModel } from '../../model/loaded-model'
import type { ClassifierHead } from './head'
import { bodyWithHead, type HeadWeights } from './head-net'

export interface AdaptedModelSpec {
  model: LoadedModel
  modelSha256: string
  head: ClassifierHead
  adapted: HeadWeights
  classes: string[]
  method: string
  steps: number
  innerRate: number
}

/** Keys that describe the original classes or its measured accuracy, so no longer hold. */
const DROPPED = new Set(['labels', 'classes', 'class_names', 'metascope.label_folders', 'metascope.test_accuracy', 'metascope.description', 'metascope.adapted_from'])

/**
 * The adapted classifier as a standalone ONNX model: the original graph up to the features, then the
 * new head Gemm with the adapted weights, output `logits` [batch, N] (no softmax). Metadata: `labels`
 * (the new class names, as a JSON array), the original metadata that still applies (the
 * `metascope.*` preprocessing keys among it), and `metascope.adapted_from` (file, sha256, method,
 * steps, inner rate, head).
 */
export function adaptedModelBytes(spec: AdaptedModelSpec): Uint8Array {
  const { model: built } = bodyWithHead(spec.model, spec.head, spec.adapted)
  const metadataProps: onnx.StringStringEntryProto[] = []
  for (const p of spec.model.model.metadataProps) {
    if (p.key && !DROPPED.has(p.key)) metadataProps.push(onnx.StringStringEntryProto.create({ key: p.key, value: p.value ?? '' }))
  }
  const add = (key: string, value: string) => metadataProps.push(onnx.StringStringEntryProto.create({ key, value }))
  add('labels', JSON.stringify(spec.classes))
  // The class folder names are the labels themselves.
  add('metascope.label_folders', JSON.stringify(spec.classes))
  add(
    'metascope.adapted_from',
    JSON.stringify({
      file: basename(spec.model.path),
      sha256: spec.modelSha256,
      method: spec.method,
      steps: spec.steps,
      innerRate: spec.innerRate,
      head: spec.head.node.name,
      originalClasses: spec.head.numClasses
    })
  )
  add('metascope.description', `${basename(spec.model.path)} adapted to ${spec.classes.length} new classes with ${spec.method} (${spec.steps} steps).`)
  const out = onnx.ModelProto.create({ ...built, metadataProps, producerName: 'metascope', docString: built.docString ?? '' })
  return onnx.ModelProto.encode(out).finish()
}

/** Writes the adapted model atomically (write, then rename). */
export async function writeAdaptedModel(path: string, spec: AdaptedModelSpec): Promise<void> {
  await writeFileAtomic(path, adaptedModelBytes(spec))
}
