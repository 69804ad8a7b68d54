import { createHash } from 'node:crypto'
import type { AuditFile, ModelIdentity } from '../../../shared/audit'
import { libraryVersions } from '../backends'
import type { Preprocess } from '../data/preprocess-spec'
import type { LoadedModel } from '../model/loaded-model'
import { APP_VERSION } from '../../version'

/** What the report says the model is: its bytes' hash, inputs, classes, preprocessing and CAM layer. */
export function modelIdentity(model: LoadedModel, pre: Preprocess, layer: string): ModelIdentity {
  return {
    file: model.file,
    sha256: createHash('sha256').update(model.bytes).digest('hex'),
    bytes: model.summary.fileBytes,
    inputs: model.summary.inputs,
    numClasses: model.numClasses,
    labels: Array.from({ length: model.numClasses }, (_, i) => model.labelOf(i)),
    preprocessing: { size: pre.size, layout: pre.layout, normalization: pre.normalization, resize: pre.resize, channels: pre.channels ?? 3, channelOrder: pre.channelOrder ?? 'rgb' },
    layer
  }
}

export function software(provider: string): AuditFile['software'] {
  return { app: APP_VERSION, node: process.versions.node, provider, libraries: libraryVersions() }
}
