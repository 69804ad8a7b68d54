import { maxAbsChannels } from '../pixel/channels'
import type { PixelMethodModule } from './base'

/** Saliency (Simonyan et al. 2014): |d S_c / d x|, max over the colour channels. One gradient per image. */
export const saliency: PixelMethodModule = {
  id: 'saliency',
  kind: 'pixel',
  attribute: async (x) => {
    const attribution = Float32Array.from(x.gradient, Math.abs)
    return { attribution, map: maxAbsChannels(attribution, x.chw, x.layout) }
  }
}
