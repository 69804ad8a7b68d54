import { folderSafe, labelIndex } from '../../../shared/label-match'
import type { LoadedModel } from './loaded-model'

export { folderSafe }

/** The model's class index for each class name, when every name is one of its labels; null otherwise. */
export function matchLabels(model: LoadedModel, classes: string[]): number[] | null {
  const labels = model.labels
  if (!labels) return null
  let folders: string[] = []
  try {
    const raw: unknown = JSON.parse(model.summary.metadata['metascope.label_folders'] ?? '[]')
    if (Array.isArray(raw)) folders = raw.map(String)
  } catch {
    folders = []
  }
  const idx = classes.map((c) => labelIndex(c, labels, folders))
  return idx.every((i) => i >= 0) ? idx : null
}

/**
 * The class an image's folder name stands for: one of the model's labels (or label folders), else
 * a class number ("3"); -1 when it is neither (a folder of loose images is not a label).
 */
export function classOfFolder(model: LoadedModel, folder: string | null): number {
  if (!folder) return -1
  const byLabel = matchLabels(model, [folder])
  if (byLabel) return byLabel[0]
  const n = /^\d+$/.test(folder) ? Number(folder) : -1
  return n < model.numClasses ? n : -1
}
