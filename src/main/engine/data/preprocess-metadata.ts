import { CHANNEL_ORDERS, NORMALIZATIONS, RESIZES } from '../../../shared/preprocess'
import { parseSize, type Preprocess } from './preprocess-spec'

/** The choices a model's metadata can state; anything else in the file is Metascope's default. */
export type StatedPresets = Pick<Partial<Preprocess>, 'normalization' | 'resize' | 'channelOrder'>

const oneOf = <T extends string>(values: readonly T[], v: string | undefined): T | undefined => values.find((x) => x === v)

/**
 * What a model's metadata says about its preprocessing: `metascope.normalization`, `metascope.resize`
 * and `metascope.channel_order` (any case), as our demo and fixture scripts write them. Unknown
 * values are ignored, so the model still runs with the defaults.
 */
export function presetsFromMetadata(meta: Record<string, string>): StatedPresets {
  const normalization = oneOf(NORMALIZATIONS, meta['metascope.normalization'])
  const resize = oneOf(RESIZES, meta['metascope.resize'])
  const channelOrder = oneOf(CHANNEL_ORDERS, meta['metascope.channel_order']?.toLowerCase())
  return {
    ...(normalization ? { normalization } : {}),
    ...(resize ? { resize } : {}),
    ...(channelOrder ? { channelOrder } : {})
  }
}

/**
 * The input size a model's metadata gives for its dynamic height/width: `metascope.size` (WxH, as
 * our scripts write it), or `input_size` / `image_size` (WxH or one number). Null when absent;
 * malformed values are an error naming the key, since they were meant for this model.
 */
export function sizeFromMetadata(meta: Record<string, string>): [number, number] | null {
  for (const key of ['metascope.size', 'input_size', 'image_size']) {
    const v = meta[key]
    if (v !== undefined && v.trim()) return parseSize(v, `The metadata entry ${key}`)
  }
  return null
}
