/**
 * Which of the files a user dropped or picked is the model, and which files must travel with it.
 * An ONNX model is one file; a TensorFlow.js model is a model.json (any name: emotion.json) plus the
 * weight shards its weightsManifest lists, by paths relative to the json's folder. The desktop app
 * opens the model by its path (the shards already sit beside it on disk); browser mode uploads the
 * model and its shards into one batch folder, keeping their relative names, so the engine finds them.
 */

import { MODEL_EXTENSIONS } from '../../../shared/registry/model-formats'
import { normalRelativePath as normal, tfjsShardPaths } from '../../../shared/tfjs-manifest'

export interface NamedFile {
  relativePath: string
}

export interface ModelChoice<T extends NamedFile> {
  model: T
  /** Files to upload with the model: the listed weight shards that were given (or, with no readable manifest, the .bin files beside it). */
  companions: T[]
  /** Shard paths (relative to the model's folder) that the manifest lists but that were not given. */
  missing: string[]
}

const segmentsOf = (p: string) => p.split(/[\\/]/).filter((s) => s !== '' && s !== '.')
const extOf = (name: string) => {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? name.slice(dot).toLowerCase() : ''
}
const hidden = (p: string) => segmentsOf(p).some((s) => s.startsWith('.'))
/** 'a/b/model.json' -> 'a/b/' (forward slashes), '' at the top. */
const folderOf = (p: string) => {
  const s = segmentsOf(p)
  return s.length > 1 ? s.slice(0, -1).join('/') + '/' : ''
}

/** True for a file the Model panel could open (.onnx or .json), hidden files excluded. */
export function isModelFile(relativePath: string): boolean {
  return !hidden(relativePath) && MODEL_EXTENSIONS.includes(extOf(relativePath))
}

/**
 * Chooses the model among `files` and the files to send with it. `manifests` gives, for each .json
 * file whose text could be read, its shard paths (tfjsShardPaths); a .json mapped to null is not a
 * tfjs model and is chosen only when nothing else could be (then the engine says what is wrong with
 * it); a .json absent from the map is a candidate like any other (the engine decides).
 * Preference: the shallowest file (the dropped folder's own model, not one in a sub-folder), then
 * .onnx or a json named model.json, then the name. Returns null when no file could be a model.
 */
export function chooseModelFiles<T extends NamedFile>(files: T[], manifests: ReadonlyMap<T, string[] | null> = new Map()): ModelChoice<T> | null {
  const all = files.filter((f) => isModelFile(f.relativePath))
  const likely = all.filter((f) => manifests.get(f) !== null)
  const candidates = likely.length ? likely : all
  if (!candidates.length) return null
  const rank = (f: T) => {
    const s = segmentsOf(f.relativePath)
    const name = s[s.length - 1].toLowerCase()
    return [s.length, name.endsWith('.onnx') || name === 'model.json' ? 0 : 1] as const
  }
  const model = [...candidates].sort((a, b) => {
    const [da, pa] = rank(a)
    const [db, pb] = rank(b)
    return da - db || pa - pb || normal(a.relativePath).localeCompare(normal(b.relativePath))
  })[0]
  if (extOf(model.relativePath) !== '.json') return { model, companions: [], missing: [] }

  const dir = folderOf(model.relativePath)
  const listed = manifests.get(model)
  if (listed === null) return { model, companions: [], missing: [] }
  const byPath = new Map(files.filter((f) => f !== model && !hidden(f.relativePath)).map((f) => [normal(f.relativePath), f]))
  if (listed === undefined) {
    // The manifest could not be read here: send the .bin files in the model's folder and below.
    const companions = [...byPath.entries()].filter(([p]) => p.startsWith(dir) && extOf(p) === '.bin').map(([, f]) => f)
    return { model, companions, missing: [] }
  }
  const companions: T[] = []
  const missing: string[] = []
  for (const p of listed) {
    const f = byPath.get(normal(dir + p))
    if (f) {
      if (!companions.includes(f)) companions.push(f)
    } else if (!missing.includes(p)) missing.push(p)
  }
  return { model, companions, missing }
}

/**
 * What browser mode uploads for a choice: the model, then its companions, each marked with the model's
 * relative path. The upload route takes a file of any name (`group1-shard1of2`) when that model's
 * manifest lists it, so the model goes first and its companions after it.
 */
export function uploadsFor<T extends NamedFile>(choice: ModelChoice<T>): (T & { listedBy?: string })[] {
  return [choice.model, ...choice.companions.map((c) => ({ ...c, listedBy: choice.model.relativePath }))]
}

/** Reads each .json among `files` and notes its shard paths (null: not a tfjs model; unreadable: left out). */
export async function readManifests<T extends NamedFile & { file: Blob }>(files: T[]): Promise<Map<T, string[] | null>> {
  const out = new Map<T, string[] | null>()
  for (const f of files) {
    if (!isModelFile(f.relativePath) || extOf(f.relativePath) !== '.json') continue
    try {
      out.set(f, tfjsShardPaths(JSON.parse(await f.file.text())))
    } catch {
      // Not JSON, or unreadable: let the engine open it and say what is wrong with it.
    }
  }
  return out
}
