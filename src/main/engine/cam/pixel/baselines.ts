import { imageTensor } from '../../data/image-tensor'
import type { Preprocess } from '../../data/preprocess-spec'
import type { Layout } from './channels'
import { stream } from './random'

export type BaselineKind = 'black' | 'blurred' | 'uniform' | 'image'

/**
 * Integrated Gradients' baselines, each an image as the model sees it (after the run's preprocessing),
 * so "black" is a black picture (ImageNet-normalised: about -2), not the zero tensor:
 * - black: every pixel 0;
 * - blurred: the image under a Gaussian blur of sigma = 1/16 of its shorter side (Sturmfels et al. 2020);
 * - uniform: every byte uniform in 0..255, seeded (the same picture for every image of a run);
 * - image: a chosen picture (decoded and preprocessed as the inputs are).
 */
export function blackBaseline(pre: Preprocess): Float32Array {
  const [h, w] = pre.size
  return imageTensor(new Uint8Array(h * w * 3), pre)
}

export function uniformBaseline(pre: Preprocess, seed: number): Float32Array {
  const [h, w] = pre.size
  const rand = stream(seed, 0x626173) // 'bas': apart from the noise streams of the same seed
  const rgb = new Uint8Array(h * w * 3)
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.floor(rand() * 256)
  return imageTensor(rgb, pre)
}

export const blurSigma = (h: number, w: number) => Math.min(h, w) / 16

/**
 * A separable Gaussian blur of each channel (kernel radius 3 sigma, edges clamped). Linear with
 * weights summing to 1, so blurring the normalised tensor equals normalising the blurred picture.
 */
export function blurredBaseline(x: Float32Array, chw: [number, number, number], layout: Layout): Float32Array {
  const [channels, h, w] = chw
  const sigma = blurSigma(h, w)
  const radius = Math.max(1, Math.ceil(3 * sigma))
  const kernel = new Float64Array(2 * radius + 1)
  let total = 0
  for (let i = -radius; i <= radius; i++) total += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma))
  for (let i = 0; i < kernel.length; i++) kernel[i] /= total
  const plane = h * w
  const at = (c: number, p: number) => (layout === 'NCHW' ? c * plane + p : p * channels + c)
  const out = new Float32Array(x.length)
  const tmp = new Float64Array(plane)
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0
        for (let k = -radius; k <= radius; k++) s += kernel[k + radius] * x[at(c, y * w + Math.min(w - 1, Math.max(0, xx + k)))]
        tmp[y * w + xx] = s
      }
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = 0
        for (let k = -radius; k <= radius; k++) s += kernel[k + radius] * tmp[Math.min(h - 1, Math.max(0, y + k)) * w + xx]
        out[at(c, y * w + xx)] = s
      }
  }
  return out
}
