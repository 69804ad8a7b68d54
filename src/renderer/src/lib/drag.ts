/** Dragging images out of the library (onto a few-shot class): their ids travel as JSON. */
export const LIBRARY_DRAG = 'application/x-metascope-images'

export function setLibraryDrag(dt: DataTransfer, ids: string[]): void {
  dt.setData(LIBRARY_DRAG, JSON.stringify(ids))
  dt.effectAllowed = 'copy'
}

export function readLibraryDrag(dt: DataTransfer): string[] {
  try {
    const raw: unknown = JSON.parse(dt.getData(LIBRARY_DRAG) || '[]')
    return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}
