/** Small display helpers shared by components. */
export const percent = (p: number) => `${(p * 100).toFixed(1)}%`
export const basename = (path: string) => path.split(/[\\/]/).pop() ?? path
export const shapeText = (dims: (number | string | null)[]) => `[${dims.map((d) => (d === null ? '?' : d === -1 ? 'N' : d)).join(', ')}]`

/** A label and a folder name match when they agree ignoring case and punctuation ("T-shirt/top" ~ "T-shirt_top"). */
export const sameLabel = (a: string, b: string) => a.toLowerCase().replace(/[^a-z0-9]/g, '') === b.toLowerCase().replace(/[^a-z0-9]/g, '')
