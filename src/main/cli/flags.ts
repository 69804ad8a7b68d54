import type { ApiErrorShape } from '../../shared/errors'
import { CHANNEL_ORDERS, NORMALIZATIONS, RESIZES } from '../../shared/preprocess'
import { parseSize } from '../engine/data/preprocess-spec'

/** The CLI flag of an API argument, where the two names differ. */
const FLAG_OF: Record<string, string> = {
  labelsPath: '--labels',
  imagesDir: '--images',
  modelPath: '--model',
  supportDir: '--support',
  queryDir: '--query',
  oldDir: '--old',
  dir: '--out',
  modelOut: '--out',
  roadPercentiles: '--road',
  rotations: '--train-rotations',
  paths: '--images',
  // A meta-training data set, by where its parts come from.
  'dataset.dir': '--folder',
  'dataset.images': '--idx-images',
  'dataset.labels': '--idx-labels'
}

/** innerRate -> --inner-rate; labelsPath -> --labels; config.trainSteps -> --train-steps (nested settings are flat flags). */
export function flagOf(field: string): string {
  if (FLAG_OF[field]) return FLAG_OF[field]
  const leaf = field.split('.').filter((p) => !/^\d+$/.test(p)).at(-1) ?? field
  return FLAG_OF[leaf] ?? `--${leaf.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/** A number flag as the API takes it: the schema (not the CLI) decides what is valid, and says so by field; text that is no number goes as text. */
export const num = (s: string | undefined) => (s === undefined ? undefined : s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s)

/** A comma-separated list flag (`--metrics a,b`), items as given: the schema checks them. */
export const listOf = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()))

/** `--size WxH` as the API's { width, height } (parseSize names the size when it is malformed). */
export function sizeFlag(text: string | undefined): { width: number; height: number } | undefined {
  if (text === undefined) return undefined
  const [height, width] = parseSize(text)
  return { width, height }
}

/** The preprocessing flags of every command that feeds images to a model (cam, fewshot adapt), as parseArgs options. */
export const PREPROCESS_OPTIONS = {
  normalization: { type: 'string' },
  resize: { type: 'string' },
  'channel-order': { type: 'string' },
  size: { type: 'string' }
} as const

/** Those flags as the API's preprocessing fields (PreprocessFields): the schema checks the values and names the field, the CLI the flag. */
export function preprocessFlags(v: { normalization?: string; resize?: string; 'channel-order'?: string; size?: string }) {
  return { normalization: v.normalization, resize: v.resize, channelOrder: v['channel-order']?.toLowerCase(), size: sizeFlag(v.size) }
}

/** Their help, one text for every command; `sizeDefault` says where the size comes from when none is given. */
export function preprocessUsage(indent: string, sizeDefault: string): string {
  return `[--normalization ${NORMALIZATIONS.join('|')}] [--resize ${RESIZES.join('|')}] [--channel-order ${CHANNEL_ORDERS.join('|')}]
${indent}[--size WxH (models with dynamic height/width; default: ${sizeDefault})]`
}

/** The object without its undefined fields: a flag left out leaves the schema's default. */
export const given = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>

/**
 * An error as the CLI says it: the engine names the argument (details.field) in plain words; the CLI
 * names the flag that set it, so `--inner-rate: The inner learning rate must be a positive number`.
 */
export function cliErrorText(e: ApiErrorShape): string {
  const field = e.details?.field
  if (typeof field !== 'string' || !field || field.startsWith('--')) return e.message
  const flag = flagOf(field)
  // A schema error: its first issue, without the API's field name (the flag says which).
  const value = e.details?.value
  const got = value !== undefined ? ` (got ${JSON.stringify(value)})` : ''
  const allowed = e.details?.allowed
  if (e.details?.constraint === 'enum' && Array.isArray(allowed)) return `${flag} must be one of ${allowed.join(', ')}${got}.`
  const issues = e.details?.issues
  if (Array.isArray(issues) && typeof issues[0] === 'string') {
    return `${flag}: ${issues[0].replace(/^[^:]+: /, '')}${got}.`
  }
  return `${flag}: ${e.message}`
}
