/**
 * Folder labels: the class an image is expected to be, read from the folder it sits in. Every image has
 * a parent folder, but only a folder of class sub-folders (cats/, dogs/ side by side) says something
 * about its images: a lone folder of holiday photos, or the folder a browser upload was stored in, does
 * not. So a folder name counts as its images' label when the library also holds images from another
 * folder beside it (the same parent). The UI (thumbnails, cards, the detail view, the "prediction ≠
 * folder label" filter) and the engine's results.csv use this one rule, so they always agree.
 */

/** The folder part of a path (everything before its last separator); '' when there is none. */
function folderOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'))
  return cut > 0 ? path.slice(0, cut) : ''
}

const nameOf = (folder: string) => folder.slice(Math.max(folder.lastIndexOf('/'), folder.lastIndexOf('\\')) + 1)

/** Each image path's folder label, for the paths that have one (see above); the others are absent. */
export function classFolderLabels(paths: Iterable<string>): Map<string, string> {
  const folders = new Map<string, string[]>()
  for (const p of paths) {
    const folder = folderOf(p)
    if (!nameOf(folder)) continue
    const list = folders.get(folder)
    if (list) list.push(p)
    else folders.set(folder, [p])
  }
  const siblings = new Map<string, number>()
  for (const folder of folders.keys()) siblings.set(folderOf(folder), (siblings.get(folderOf(folder)) ?? 0) + 1)
  const labels = new Map<string, string>()
  for (const [folder, files] of folders) {
    if ((siblings.get(folderOf(folder)) ?? 0) < 2) continue
    for (const f of files) labels.set(f, nameOf(folder))
  }
  return labels
}
