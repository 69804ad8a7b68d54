import { IMAGE_EXTENSIONS } from '../../../shared/client'
import type { ModelChoice, NamedFile } from './model-files'

/** The preload's webUtils.getPathForFile: '' for a File not backed by a file on disk. */
export type PathForFile = (file: File) => string

const segmentsOf = (p: string) => p.split(/[\\/]/).filter((s) => s !== '' && s !== '.')

/**
 * The paths the desktop app adds for dropped or picked images, by the engine's own rule for a folder
 * added by path: inside a dropped folder only images, and never hidden files or folders (.DS_Store,
 * .git), which would otherwise each show as a failed image; a file dropped on its own is added
 * whatever it is, so the engine says why it is not an image. Files with no path on disk are left out.
 */
export function desktopImagePaths(files: (NamedFile & { file: File })[], pathForFile: PathForFile): string[] {
  const out: string[] = []
  for (const f of files) {
    const segments = segmentsOf(f.relativePath || f.file.name)
    const name = segments[segments.length - 1] ?? ''
    if (!name || segments.some((s) => s.startsWith('.'))) continue
    const dot = name.lastIndexOf('.')
    const image = dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase())
    if (segments.length > 1 && !image) continue
    const path = pathForFile(f.file)
    if (path) out.push(path)
  }
  return out
}

/**
 * The path the desktop app opens for a dropped or picked model: the chosen model file's own (a
 * TensorFlow.js model.json's shards are read from beside it on disk, so they are never sent), or null
 * when it has no path on disk.
 */
export function desktopModelPath<T extends NamedFile & { file: File }>(choice: ModelChoice<T>, pathForFile: PathForFile): string | null {
  return pathForFile(choice.model.file) || null
}
