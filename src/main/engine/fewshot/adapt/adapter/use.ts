import { resolve } from 'node:path'
import { ApiError } from '../../../../../shared/errors'
import type { AdapterRecord } from '../../../../../shared/fewshot-adapter'
import type { LoadedModel } from '../../../model/loaded-model'
import type { FolderWarning } from '../../data/folder'
import type { Embedding } from '../embed'
import { modelSha256 } from '../embed'
import { resolveFeatures, type FeatureTensor } from '../features'
import type { ClassifierHead } from '../head'
import { applyAdapter, readAdapter, type Adapter } from './file'

/** An adapter an adaptation uses: the matrix, what the report and metadata record, and a warning when it was trained on another model. */
export interface UsedAdapter {
  adapter: Adapter
  record: AdapterRecord
  warning: FolderWarning | null
}

const refuse = (path: string, problem: string, constraint: string, extra: Record<string, unknown> = {}) =>
  new ApiError('invalid-arguments', `The adapter ${path} ${problem}`, path, { field: 'adapter', constraint, path, ...extra })

/** Reads the adapter file (file.ts checks it) before the features are resolved: its tensor is the default features. */
export async function openAdapter(path: string): Promise<{ adapter: Adapter; record: AdapterRecord; path: string }> {
  const full = resolve(path)
  return { ...(await readAdapter(full)), path: full }
}

/**
 * Checks the adapter fits this adaptation: head-only replace mode (adding classes keeps the old rows,
 * which read the model's own features; deeper adaptation changes the features it was trained on), and
 * the same feature tensor and width it was trained on. Another model's sha256 is only a warning: a
 * re-exported copy of the same model has another hash and the same features.
 */
export function checkAdapter(opened: { adapter: Adapter; record: AdapterRecord; path: string }, model: LoadedModel, features: FeatureTensor, call: { mode?: string; depth?: number }): UsedAdapter {
  const { adapter, path } = opened
  if (call.mode === 'add') throw refuse(path, "cannot be used when adding classes (mode 'add'): the model's own rows read its unadapted features.", 'add-mode')
  if ((call.depth ?? 0) > 0) throw refuse(path, 'cannot be used with deeper adaptation (depth > 0): fine-tuning blocks changes the features it was trained on.', 'with-depth')
  if (adapter.tensor !== features.tensor) {
    throw refuse(path, `was trained on the features "${adapter.tensor}", not "${features.tensor}"; leave out features (the adapter's tensor is used) or name "${adapter.tensor}".`, 'features-mismatch', { adapterTensor: adapter.tensor, features: features.tensor })
  }
  if (adapter.inWidth !== features.width) {
    throw refuse(path, `takes ${adapter.inWidth} features, but ${model.file}'s "${features.tensor}" has ${features.width}.`, 'width-mismatch', { adapterWidth: adapter.inWidth, featuresWidth: features.width, features: features.tensor, model: model.file })
  }
  const sha = modelSha256(model)
  const warning =
    adapter.model.sha256 === sha
      ? null
      : { file: path, message: `The adapter was meta-trained on ${adapter.model.file} (sha256 ${adapter.model.sha256.slice(0, 12)}…), not on ${model.file} (${sha.slice(0, 12)}…); it fits the features' name and width, but may not fit their meaning.` }
  return { adapter, record: opened.record, warning }
}

/** The features an adapter names, when the call names none: a model without that tensor is the adapter's error (field `adapter`). */
export function adapterFeatures(opened: { adapter: Adapter; path: string }, model: LoadedModel, head: ClassifierHead): FeatureTensor {
  try {
    return resolveFeatures(model, head, opened.adapter.tensor)
  } catch (err) {
    if (!(err instanceof ApiError) || err.details?.field !== 'features') throw err
    throw refuse(opened.path, `was trained on the features "${opened.adapter.tensor}", which ${model.file} cannot give: ${err.message}`, 'features-missing', { adapterTensor: opened.adapter.tensor, model: model.file })
  }
}

/** The embeddings with their features through the adapter (the original model's predictions unchanged). */
export function adaptedEmbeddings(adapter: Adapter, embeddings: Embedding[]): Embedding[] {
  const rows = applyAdapter(adapter, embeddings.map((e) => e.features))
  return embeddings.map((e, i) => ({ ...e, features: rows[i] }))
}
