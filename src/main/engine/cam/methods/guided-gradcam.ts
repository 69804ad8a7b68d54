import { GUIDED_BACKPROP_RULES } from '../../autodiff/rules/guided'
import { sumChannels } from '../pixel/channels'
import type { PixelMethodModule } from './base'

/**
 * Nearest-neighbour upsampling of an [h*w] map to [H*W], as PyTorch's F.interpolate(mode='nearest')
 * (Captum's default for Guided Grad-CAM): source index floor(dst * (in / out)) in float32, clamped.
 */
export function upsampleNearest(map: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const index = (dst: number, size: number, out: number) => (size === out ? dst : Math.min(Math.floor(Math.fround(dst * Math.fround(size / out))), size - 1))
  const up = new Float32Array(H * W)
  for (let y = 0; y < H; y++) {
    const row = index(y, h, H) * w
    for (let x = 0; x < W; x++) up[y * W + x] = map[row + index(x, w, W)]
  }
  return up
}

/**
 * Guided Grad-CAM (Selvaraju et al. 2017), as Captum's GuidedGradCam: Guided Backprop's attribution
 * times the layer's Grad-CAM (ReLU'd, true gradients), upsampled nearest-neighbour to the input size,
 * at every colour channel; signed, summed over the channels for the per-pixel map.
 */
export const guidedGradcam: PixelMethodModule = {
  id: 'guidedgradcam',
  kind: 'pixel',
  overrides: GUIDED_BACKPROP_RULES,
  layerCam: true,
  attribute: async (x) => {
    if (!x.cam) throw new Error('Guided Grad-CAM needs the layer’s Grad-CAM')
    const [channels, H, W] = x.chw
    const cam = upsampleNearest(x.cam.raw, x.cam.h, x.cam.w, H, W)
    const attribution = new Float32Array(x.gradient.length)
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < H * W; p++) {
        const i = x.layout === 'NCHW' ? c * H * W + p : p * channels + c
        attribution[i] = x.gradient[i] * cam[p]
      }
    }
    return { attribution, map: sumChannels(attribution, x.chw, x.layout) }
  }
}
