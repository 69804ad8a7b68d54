import type { ApiErrorShape } from '../../../shared/errors'

type Translate = (key: string, params?: Record<string, unknown>) => string
type HasKey = (key: string) => boolean

/**
 * An error in the UI's own words when it concerns one setting: the engine names the field
 * (details.field) and the rule (details.constraint); `errors.<field>.<constraint>`, else
 * `errors.<field>.any`, phrases it in the current language with the error's values. Anything else
 * keeps the engine's message, which names the file.
 */
export function errorText(e: ApiErrorShape, t: Translate, has: HasKey): string {
  const d = e.details ?? {}
  const field = typeof d.field === 'string' ? d.field.split('.')[0] : null
  if (!field) return e.message
  for (const rule of [d.constraint, 'any']) {
    if (typeof rule !== 'string') continue
    const key = `errors.${field}.${rule}`
    if (has(key)) {
      const params = Object.fromEntries(Object.entries(d).filter(([, v]) => typeof v === 'string' || typeof v === 'number').map(([k, v]) => [k, String(v)]))
      return t(key, { ...params, message: e.message })
    }
  }
  return e.message
}
