import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { onnx } from 'onnx-proto'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import { looksLikeTfjs, readTfjsJson, readTfjsWeights, tfjsKind } from './tfjs-files'
import { convertGraphModel } from './tfjs-graph'
import { shardFile } from './tfjs-shards'
import { convertLayersModel } from './tfjs-layers'
import { inputScalingOf } from './tfjs-input-scaling'
import type { ModelFormat, OpenedModel } from './types'
import type { ModelOpenPhase } from '../../../shared/events'

/** Reads model.json and its shards and converts whichever kind of tfjs model the file really is. */
async function openTfjs(path: string, onPhase?: (phase: ModelOpenPhase) => void): Promise<OpenedModel> {
  const json = await readTfjsJson(path)
  const weights = await readTfjsWeights(path, json)
  onPhase?.('converting')
  const kind = tfjsKind(json)
  let opened: OpenedModel
  try {
    opened =
      kind === 'graph'
        ? { format: 'tfjs-graph', ...convertGraphModel(json, weights, path) }
        : { format: 'tfjs-layers', ...convertLayersModel(json.modelTopology, weights, path), inputScaling: inputScalingOf(json.modelTopology, weights) ?? undefined }
  } catch (err) {
    if (err instanceof ApiError) throw err
    // A topology shaped unlike anything the converter knows: still an error that names the file.
    throw new ApiError('bad-file', `${basename(path)}: could not convert this TensorFlow.js ${kind === 'graph' ? 'GraphModel' : 'LayersModel'} (${(err as Error).message}).`, path, fileDetails('model', path, 'not-converted', { reason: (err as Error).message }))
  }
  const labels = await labelsOf(path, json.userDefinedMetadata)
  if (!labels) return opened
  // Labels travel as ONNX metadata, where the summary looks for them in any model.
  opened.model.metadataProps.push(onnx.StringStringEntryProto.create({ key: 'labels', value: JSON.stringify(labels) }))
  return { ...opened, bytes: onnx.ModelProto.encode(opened.model).finish() }
}

/**
 * Class labels shipped with a tfjs model: model.json's userDefinedMetadata (labels/classes), else
 * Teachable Machine's metadata.json beside it ({"labels": [...]}). Unreadable metadata is ignored:
 * the classes are then shown by number.
 */
async function labelsOf(path: string, meta: Record<string, unknown> | undefined): Promise<string[] | null> {
  const pick = (m: Record<string, unknown> | undefined) => {
    const l = m?.labels ?? m?.classes
    return Array.isArray(l) && l.length ? l.map(String) : null
  }
  const own = pick(meta)
  if (own) return own
  try {
    // Beside the model, a regular file, nothing larger than a labels list needs.
    const meta = await shardFile(path, dirname(path), 'metadata.json', 'metadata.json')
    if (meta.size > 4 * 1024 * 1024) return null
    return pick(JSON.parse(await readFile(meta.path, 'utf8')) as Record<string, unknown>)
  } catch {
    return null
  }
}

const graphHint = (head: Buffer) => /"format"\s*:\s*"graph-model"|"node"\s*:\s*\[/.test(head.toString('utf8'))

/** TensorFlow.js LayersModel: model.json (any name) with a Keras topology, plus its weight shards. */
export const tfjsLayersFormat: ModelFormat = {
  name: 'tfjs-layers',
  match: (path, head) => looksLikeTfjs(path, head) && !graphHint(head),
  open: openTfjs
}

/** TensorFlow.js GraphModel: model.json with TF nodes (tfjs-converter's output), plus its weight shards. */
export const tfjsGraphFormat: ModelFormat = {
  name: 'tfjs-graph',
  match: (path, head) => looksLikeTfjs(path, head) && graphHint(head),
  open: openTfjs
}
