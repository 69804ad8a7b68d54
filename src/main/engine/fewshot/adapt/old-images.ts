import { readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { ApiError } from '../../../../shared/errors'
import type { AdaptOldClass } from '../../../../shared/fewshot'
import { expandImagePaths } from '../../data/images'
import { loadDisplayImage } from '../../data/decode-image'
import { matchLabels } from '../../model/labels'
import type { LoadedModel } from '../../model/loaded-model'
import type { FolderWarning } from '../data/folder'

/** Images of the model's own classes (add mode), to measure old-class accuracy before and after. */
export interface OldImages {
  /** Each class as named, with the model's class index it stands for. */
  classes: { name: string; index: number }[]
  files: string[][]
  /** Images skipped because they could not be read. */
  warnings: FolderWarning[]
}

/** The model's labels, as an error lists them (the first 50). */
function labelList(model: LoadedModel): string {
  const labels = Array.from({ length: model.numClasses }, (_, i) => model.labelOf(i))
  return labels.length > 50 ? `${labels.slice(0, 50).join(', ')}, ... (${labels.length} in all)` : labels.join(', ')
}

/** The model's class index for a name (label, label folder, folder-safe or case-insensitive form), or an error naming the field. */
function classIndex(model: LoadedModel, name: string, field: 'oldDir' | 'oldClasses', where: string): number {
  const found = matchLabels(model, [name])
  if (found) return found[0]
  throw new ApiError(
    'invalid-arguments',
    `${where} "${name}" is not one of the classes of ${model.file}; images of the model's own classes go in a class named like one of its labels: ${labelList(model)}.`,
    undefined,
    { field, constraint: 'not-a-label', value: name, labels: Array.from({ length: model.numClasses }, (_, i) => model.labelOf(i)) }
  )
}

/** Checks every file decodes; unreadable ones are skipped with a warning naming class and file. */
async function readable(classes: OldImages['classes'], files: string[][]): Promise<{ files: string[][]; warnings: FolderWarning[] }> {
  const warnings: FolderWarning[] = []
  const kept = await Promise.all(
    files.map(async (list, c) => {
      const ok: string[] = []
      for (const file of list) {
        try {
          await loadDisplayImage(file, [1, 1], 'stretch')
          ok.push(file)
        } catch (err) {
          if (!(err instanceof ApiError) || (err.code !== 'bad-file' && err.code !== 'not-found')) throw err
          warnings.push({ file, message: `${classes[c].name}/${basename(file)}: ${err.message}` })
        }
      }
      return ok
    })
  )
  return { files: kept, warnings }
}

/**
 * The old-class images a call names, or null: `oldDir` (one sub-folder per class of the model,
 * named by a label or its label folder) or `oldClasses` (explicit files per class name). Every name
 * must be one of the model's classes (the error lists them) and name it once; unreadable images are
 * skipped with a warning.
 */
export async function loadOldImages(model: LoadedModel, call: { oldDir?: string; oldClasses?: AdaptOldClass[] }): Promise<OldImages | null> {
  let named: { name: string; files: string[] }[]
  let field: 'oldDir' | 'oldClasses'
  if (call.oldDir !== undefined) {
    field = 'oldDir'
    const root = resolve(call.oldDir)
    const info = await stat(root).catch(() => null)
    if (!info?.isDirectory()) throw new ApiError('not-found', `The folder of old-class images ${root} does not exist or is not a folder.`, root, { field, constraint: 'not-a-folder' })
    const dirs = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name)
    dirs.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    if (!dirs.length) {
      throw new ApiError('invalid-arguments', `${root} has no class sub-folders; put the images of each of the model's classes in a sub-folder named like its label (${labelList(model)}).`, root, { field, constraint: 'no-classes' })
    }
    named = await Promise.all(dirs.map(async (name) => ({ name, files: (await expandImagePaths([join(root, name)])).files })))
  } else if (call.oldClasses !== undefined) {
    field = 'oldClasses'
    named = call.oldClasses.map((c) => ({ name: c.name.trim(), files: c.files.map((f) => resolve(f)) }))
  } else {
    return null
  }
  const where = field === 'oldDir' ? 'The sub-folder' : 'The old class'
  const classes = named.map((c) => ({ name: c.name, index: classIndex(model, c.name, field, where) }))
  const seen = new Map<number, string>()
  for (const c of classes) {
    const other = seen.get(c.index)
    if (other !== undefined) {
      throw new ApiError('invalid-arguments', `"${other}" and "${c.name}" both name the class ${model.labelOf(c.index)} of ${model.file}; give its images once.`, undefined, { field, constraint: 'duplicate', value: c.name })
    }
    seen.set(c.index, c.name)
  }
  const { files, warnings } = await readable(classes, named.map((c) => c.files))
  const empty = classes.filter((_, i) => files[i].length === 0)
  if (empty.length) {
    throw new ApiError('out-of-range', `No readable image for the old class${empty.length > 1 ? 'es' : ''} ${empty.map((c) => `"${c.name}"`).join(', ')}; give at least one, or leave the class out.`, undefined, {
      field,
      constraint: 'empty',
      classes: empty.map((c) => c.name),
      ...(warnings.length ? { unreadable: warnings } : {})
    })
  }
  return { classes, files, warnings }
}
