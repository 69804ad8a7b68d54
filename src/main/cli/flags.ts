import type { ApiErrorShape } from '../../shared/errors'

/** The CLI flag of an API argument, where the two names differ. */
const FLAG_OF: Record<string, string> = {
  labelsPath: '--labels',
  imagesDir: '--images',
  modelPath: '--model',
  supportDir: '--support',
  queryDir: '--query',
  dir: '--out',
  modelOut: '--out',
  roadPercentiles: '--road'
}

/** innerRate -> --inner-rate; labelsPath -> --labels. */
export function flagOf(field: string): string {
  return FLAG_OF[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/**
 * An error as the CLI says it: the engine names the argument (details.field) in plain words; the CLI
 * names the flag that set it, so `--inner-rate: The inner learning rate must be a positive number`.
 */
export function cliErrorText(e: ApiErrorShape): string {
  const field = e.details?.field
  if (typeof field !== 'string' || !field || field.startsWith('--')) return e.message
  const flag = flagOf(field.split('.')[0])
  // A schema error: its first issue, without the API's field name (the flag says which).
  const issues = e.details?.issues
  if (Array.isArray(issues) && typeof issues[0] === 'string') {
    const value = e.details?.value
    return `${flag}: ${issues[0].replace(/^[^:]+: /, '')}${value !== undefined ? ` (got ${JSON.stringify(value)})` : ''}.`
  }
  return `${flag}: ${e.message}`
}
