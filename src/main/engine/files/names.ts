/** Names made unique in order of appearance: the second "cat" becomes "cat-2". */
export function uniqueNamer(): (base: string) => string {
  const used = new Map<string, number>()
  return (base) => {
    const n = (used.get(base) ?? 0) + 1
    used.set(base, n)
    return n === 1 ? base : `${base}-${n}`
  }
}
