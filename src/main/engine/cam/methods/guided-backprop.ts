import { DECONVNET_RULES, GUIDED_BACKPROP_RULES } from '../../autodiff/rules/guided'
import { sumChannels } from '../pixel/channels'
import type { PixelMethodModule } from './base'

/**
 * Guided Backprop (Springenberg et al. 2015) and Deconvnet (Zeiler & Fergus 2014): the gradient of the
 * target score at the input with every Relu's backward rule replaced (autodiff/rules/guided.ts), the
 * run's graph built with those overrides. Signed, as Captum returns them; summed over the colour
 * channels (as Captum's visualisation does) for the per-pixel map.
 */
const modifiedGradient = (id: 'guidedbackprop' | 'deconvnet', overrides: PixelMethodModule['overrides']): PixelMethodModule => ({
  id,
  kind: 'pixel',
  overrides,
  attribute: async (x) => {
    const attribution = Float32Array.from(x.gradient)
    return { attribution, map: sumChannels(attribution, x.chw, x.layout) }
  }
})

export const guidedBackprop = modifiedGradient('guidedbackprop', GUIDED_BACKPROP_RULES)
export const deconvnet = modifiedGradient('deconvnet', DECONVNET_RULES)
