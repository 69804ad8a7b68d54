import type { ApiErrorShape } from '../../../shared/errors'

type Translate = (key: string, params?: Record<string, unknown>) => string
type HasKey = (key: string) => boolean

/**
 * How the files an error concerns reached the app, which changes what the user can do about it: read
 * from disk by path (copy a missing file beside the others) or uploaded from a browser (give it again).
 */
export type FilesGiven = 'disk' | 'upload'

/**
 * An error in the UI's own words when it concerns one setting: the engine names the field
 * (details.field; its first name counts, `weightsManifest[0].paths[1]` is weightsManifest) and the
 * rule (details.constraint); `errors.<field>.<constraint>.<given>`, else `errors.<field>.<constraint>`,
 * else `errors.<field>.any`, phrases it in the current language with the error's values. Anything else
 * keeps the engine's message, which names the file.
 */
export function errorText(e: ApiErrorShape, t: Translate, has: HasKey, given?: FilesGiven): string {
  const d = e.details ?? {}
  const field = typeof d.field === 'string' ? d.field.split(/[.[]/)[0] : null
  const rules = [d.constraint, 'any'].flatMap((r) => (typeof r === 'string' ? [...(given ? [`${r}.${given}`] : []), r] : []))
  // An error about no one setting (the engine restarting, a full queue, memory) is phrased by its code and constraint.
  const constraint = typeof d.constraint === 'string' ? d.constraint : null
  const keys = [...(field ? rules.map((rule) => `errors.${field}.${rule}`) : []), ...(constraint ? [`errors.code.${e.code}.${constraint}`] : []), `errors.code.${e.code}.any`]
  for (const key of keys) {
    if (has(key)) {
      // Lists (the folders missing from a map) read as "a, b, c".
      const params = Object.fromEntries(
        Object.entries(d)
          .filter(([, v]) => typeof v === 'string' || typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))
          .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])
      )
      return t(key, { ...params, message: e.message })
    }
  }
  return e.message
}
