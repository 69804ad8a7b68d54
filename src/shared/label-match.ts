/** Folder-safe form of a label, as the demo's label folders are written (`T-shirt/top` -> `T-shirt_top`). */
export const folderSafe = (s: string) => s.replace(/[\\/:*?"<>|\s]+/g, '_')

/**
 * The class a name stands for among a model's labels: the label itself, its label folder, the label
 * made folder-safe, or the label in any letter case; -1 when it is none. The engine's matchLabels
 * (src/main/engine/model/labels.ts) reads names the same way.
 */
export function labelIndex(name: string, labels: string[], folders: string[] = []): number {
  const exact = labels.indexOf(name)
  if (exact >= 0) return exact
  const folder = folders.indexOf(name)
  if (folder >= 0) return folder
  return labels.findIndex((l) => folderSafe(l) === name || l.toLowerCase() === name.toLowerCase())
}
