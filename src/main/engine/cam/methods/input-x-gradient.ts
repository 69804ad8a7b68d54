import { sumChannels } from '../pixel/channels'
import type { PixelMethodModule } from './base'

/** Input x Gradient (Shrikumar et al. 2016): x * d S_c / d x, signed, summed over the colour channels. */
export const inputXGradient: PixelMethodModule = {
  id: 'inputxgradient',
  kind: 'pixel',
  attribute: async (x) => {
    const attribution = new Float32Array(x.input.length)
    for (let i = 0; i < attribution.length; i++) attribution[i] = x.input[i] * x.gradient[i]
    return { attribution, map: sumChannels(attribution, x.chw, x.layout) }
  }
}
