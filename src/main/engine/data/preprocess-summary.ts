import type { ModelPreprocess, Normalization, NormalizationLayers } from '../../../shared/preprocess'
import { presetsFromMetadata } from './preprocess-metadata'
import { hasDynamicSize, inferPreprocess, type Dim } from './preprocess-spec'

/**
 * The preprocessing a model opened at `size` ([height, width]) runs with when the caller chooses
 * nothing, with which parts the model states: its metadata first (metascope.* entries, written for
 * this purpose), then its own input layers (`fromLayers`: a Keras Rescaling / Normalization at the
 * input says what range it takes); the rest is Metascope's assumption. A run with no choices uses
 * exactly this (modelPreprocess reads it).
 */
export function describePreprocess(
  inputShape: Dim[],
  meta: Record<string, string>,
  size: [number, number],
  sizeSource: ModelPreprocess['source']['size'],
  fromLayers?: { normalization: Normalization; layers: NormalizationLayers }
): ModelPreprocess {
  const stated = presetsFromMetadata(meta)
  const byLayers = !stated.normalization && fromLayers ? fromLayers : null
  const pre = inferPreprocess(inputShape, { ...stated, ...(byLayers ? { normalization: byLayers.normalization } : {}), size })
  const from = (key: keyof typeof stated) => (stated[key] ? 'metadata' : 'default')
  return {
    channels: pre.channels ?? 3,
    layout: pre.layout,
    dynamicSize: hasDynamicSize(inputShape, pre.layout),
    normalization: pre.normalization,
    resize: pre.resize,
    channelOrder: pre.channelOrder ?? 'rgb',
    size: { width: pre.size[1], height: pre.size[0] },
    source: { normalization: byLayers ? 'layer' : from('normalization'), resize: from('resize'), channelOrder: from('channelOrder'), size: sizeSource },
    ...(byLayers ? { normalizationLayers: byLayers.layers } : {})
  }
}
