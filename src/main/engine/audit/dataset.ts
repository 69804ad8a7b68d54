import { createHash } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { relative, resolve, sep } from 'node:path'
import type { DatasetIdentity } from '../../../shared/audit'
import { ApiError } from '../../../shared/errors'
import { expandImagePaths } from '../data/images'
import { matchLabels } from '../model/labels'
import type { LoadedModel } from '../model/loaded-model'
import { comparePaths } from './shard'

export interface AuditInput {
  /** Absolute path. */
  file: string
  /** Relative to the images folder, '/'-separated: the key everything sorts and merges by. */
  path: string
  label: number | null
}

export interface AuditDataset {
  inputs: AuditInput[]
  identity: DatasetIdentity
}

/**
 * Lists the images folder: every image below it, sorted by relative path. When every image sits in a
 * sub-folder, the first folder name is its label (as the few-shot reader does), matched to the
 * model's classes (its labels, or `metascope.label_folders` names). `needLabels`: calibration was
 * asked for, so an unlabelled folder or folders that are not the model's classes are errors;
 * otherwise such a set is audited without labels.
 */
export async function listAuditDataset(dir: string, model: LoadedModel, needLabels: boolean, folderClasses?: Record<string, number>): Promise<AuditDataset> {
  const root = resolve(dir)
  const info = await stat(root).catch(() => null)
  if (!info) throw new ApiError('not-found', `The images folder ${root} does not exist.`, root)
  if (!info.isDirectory()) throw new ApiError('bad-file', `${root} is a file; the images to audit are a folder of images (one sub-folder per class for labels).`, root, { field: 'imagesDir', constraint: 'not-a-folder' })
  const { files } = await expandImagePaths([root])
  const rel = files.map((f) => ({ file: f, path: relative(root, f).split(sep).join('/') })).sort((a, b) => comparePaths(a.path, b.path))
  if (!rel.length) throw new ApiError('bad-file', `The images folder ${root} holds no images (png, jpg, webp, bmp, gif, tiff, avif).`, root)
  const loose = rel.filter((r) => !r.path.includes('/'))
  let labelOf: ((path: string) => number) | null = null
  let classFolders: string[] | null = null
  if (loose.length) {
    if (needLabels) {
      const shown = loose.slice(0, 3).map((r) => r.path).join(', ')
      throw new ApiError(
        'bad-file',
        `The images folder ${root} is not labelled: ${loose.length} image(s) sit directly in it (${shown}${loose.length > 3 ? ', ...' : ''}). Calibration needs labels: put each class's images in a sub-folder named after the class, or leave calibration out of the metrics.`,
        root,
        { field: 'imagesDir', constraint: 'unlabelled', count: loose.length }
      )
    }
  } else {
    const folders = [...new Set(rel.map((r) => r.path.split('/')[0]))]
    const indices = folderClasses ? mappedIndices(folderClasses, folders, model, root) : classIndices(model, folders)
    if (indices) {
      const byFolder = new Map(folders.map((f, i) => [f, indices[i]]))
      labelOf = (p) => byFolder.get(p.split('/')[0])!
      classFolders = Array.from({ length: model.numClasses }, (_, c) => folders.find((f) => byFolder.get(f) === c) ?? model.labelOf(c))
    } else if (needLabels) {
      const known = model.labels ?? []
      const unknown = folders.filter((f) => !classIndices(model, [f]))
      throw new ApiError(
        'invalid-arguments',
        model.labels
          ? `The class folders of ${root} do not match the classes of ${model.file}: ${unknown.slice(0, 8).join(', ')}${unknown.length > 8 ? ', ...' : ''} ${unknown.length === 1 ? 'is not one of its' : 'are not among its'} ${known.length} labels (${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}).`
          : `${model.file} has no class labels, so the class folders of ${root} (${folders.slice(0, 5).join(', ')}) cannot be matched to its outputs: give a labels file (one class name per line), map each folder to a class, or name the folders by class index (0-${model.numClasses - 1}).`,
        root,
        // Every folder, so a front end can offer to map each one to a class in place.
        model.labels ? { field: 'imagesDir', constraint: 'unknown-classes', unknown, folders, labels: known } : { field: 'labelsPath', constraint: 'required', unknown, folders, labels: known, model: model.file, max: model.numClasses - 1 }
      )
    }
  }
  const inputs = rel.map((r) => ({ ...r, label: labelOf ? labelOf(r.path) : null }))
  const list = inputs.map((i) => `${i.path}\t${i.label ?? ''}`).join('\n')
  return {
    inputs,
    identity: {
      dir: root,
      count: inputs.length,
      listSha256: createHash('sha256').update(list).digest('hex'),
      labelled: labelOf !== null,
      classFolders
    }
  }
}

/** Folder names to class indices: the model's labels (or label folders), or plain class numbers. */
function classIndices(model: LoadedModel, folders: string[]): number[] | null {
  const byLabel = matchLabels(model, folders)
  if (byLabel) return byLabel
  const asNumbers = folders.map((f) => (/^\d+$/.test(f) ? Number(f) : -1))
  return asNumbers.every((n) => n >= 0 && n < model.numClasses) ? asNumbers : null
}

/** The user's folder -> class map: it must name every folder, with a class the model has. */
function mappedIndices(map: Record<string, number>, folders: string[], model: LoadedModel, root: string): number[] {
  const missing = folders.filter((f) => !(f in map))
  if (missing.length) {
    throw new ApiError('invalid-arguments', `The folder-to-class map does not name the class folder(s) ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''} of ${root}.`, root, { field: 'folderClasses', constraint: 'missing', missing, folders })
  }
  const bad = folders.filter((f) => map[f] >= model.numClasses)
  if (bad.length) {
    throw new ApiError('invalid-arguments', `The folder-to-class map gives ${bad[0]} class ${map[bad[0]]}, but ${model.file} has classes 0-${model.numClasses - 1}.`, root, { field: 'folderClasses', constraint: 'max', max: model.numClasses - 1, folders })
  }
  return folders.map((f) => map[f])
}
