import { maxAbsChannels } from '../pixel/channels'
import type { PixelInput, PixelMethodModule } from './base'

/**
 * The SmoothGrad family over `samples` noisy copies x + e_k, e_k ~ N(0, sigma^2), sigma = noise x
 * (max(x) - min(x)) (Smilkov et al. 2017), gradients batched. Per channel:
 * SmoothGrad = mean_k g_k; SmoothGrad² = mean_k g_k² (Hooker et al. 2019);
 * VarGrad = mean_k g_k² - (mean_k g_k)² (Adebayo et al. 2018, as Captum's NoiseTunnel).
 * The pixel map is the channel maximum of the magnitude, as Saliency's.
 */
async function moments(x: PixelInput): Promise<{ mean: Float64Array; square: Float64Array }> {
  let min = Infinity
  let max = -Infinity
  for (const v of x.input) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const sigma = x.params.noise * (max - min)
  const n = x.input.length
  const points: Float32Array[] = []
  for (let k = 0; k < x.params.samples; k++) {
    const e = x.noise(k, sigma)
    const p = new Float32Array(n)
    for (let i = 0; i < n; i++) p[i] = x.input[i] + e[i]
    points.push(p)
  }
  const { grads } = await x.gradients(points)
  const mean = new Float64Array(n)
  const square = new Float64Array(n)
  for (const g of grads)
    for (let i = 0; i < n; i++) {
      mean[i] += g[i]
      square[i] += g[i] * g[i]
    }
  for (let i = 0; i < n; i++) {
    mean[i] /= grads.length
    square[i] /= grads.length
  }
  return { mean, square }
}

function pixelModule(id: PixelMethodModule['id'], combine: (mean: number, square: number) => number): PixelMethodModule {
  return {
    id,
    kind: 'pixel',
    imageGradient: false,
    attribute: async (x) => {
      const { mean, square } = await moments(x)
      const attribution = new Float32Array(mean.length)
      for (let i = 0; i < mean.length; i++) attribution[i] = combine(mean[i], square[i])
      return { attribution, map: maxAbsChannels(attribution, x.chw, x.layout) }
    }
  }
}

export const smoothgrad = pixelModule('smoothgrad', (mean) => mean)
export const smoothgradSquared = pixelModule('smoothgrad-sq', (_mean, square) => square)
export const vargrad = pixelModule('vargrad', (mean, square) => Math.max(0, square - mean * mean))
