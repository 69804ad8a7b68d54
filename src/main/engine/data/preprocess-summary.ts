import type { ModelPreprocess } from '../../../shared/preprocess'
import { presetsFromMetadata } from './preprocess-metadata'
import { hasDynamicSize, inferPreprocess, type Dim } from './preprocess-spec'

/**
 * The preprocessing a model opened at `size` ([height, width]) runs with when the caller chooses
 * nothing, worked out as a run works it out (modelPreprocess), with which parts the file states.
 */
export function describePreprocess(
  inputShape: Dim[],
  meta: Record<string, string>,
  size: [number, number],
  sizeSource: ModelPreprocess['source']['size']
): ModelPreprocess {
  const stated = presetsFromMetadata(meta)
  const pre = inferPreprocess(inputShape, { ...stated, size })
  const from = (key: keyof typeof stated) => (stated[key] ? 'metadata' : 'default')
  return {
    channels: pre.channels ?? 3,
    layout: pre.layout,
    dynamicSize: hasDynamicSize(inputShape, pre.layout),
    normalization: pre.normalization,
    resize: pre.resize,
    channelOrder: pre.channelOrder ?? 'rgb',
    size: { width: pre.size[1], height: pre.size[0] },
    source: { normalization: from('normalization'), resize: from('resize'), channelOrder: from('channelOrder'), size: sizeSource }
  }
}
