import { ApiError } from '../../../../shared/errors'
import type { Preprocess } from '../../data/preprocess-spec'
import { blackBaseline, blurredBaseline, uniformBaseline, type BaselineKind } from './baselines'
import { gaussian, stream } from './random'

/**
 * Where a run's baselines and noise come from. The product seeds them; a reference test can hand in
 * the very tensors its PyTorch reference used.
 */
export interface PixelSources {
  /** Integrated Gradients' start for one image ([C*H*W], model layout). */
  baseline: (input: Float32Array) => Float32Array
  /** SmoothGrad's k-th noise tensor for one image: n values, standard deviation sigma. */
  noise: (input: Float32Array, k: number, sigma: number) => Float32Array
  /** RISE's k-th mask ([H*W] in [0, 1]); left out, the run's seed makes them (perturbation/masks.ts). */
  mask?: (k: number) => Float32Array
}

export interface PixelSourceOptions {
  baseline: BaselineKind
  /** The chosen picture, preprocessed, for baseline `image`. */
  baselineImage?: Float32Array
  seed: number
  preprocess: Preprocess
  chw: [number, number, number]
  layout: 'NCHW' | 'NHWC'
}

/** A key for an image's noise that depends on its values only, not on its place in a batch. */
function contentKey(x: Float32Array): number {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length)
  let h = 0x811c9dc5
  const step = Math.max(1, Math.floor(bits.length / 4096))
  for (let i = 0; i < bits.length; i += step) h = Math.imul(h ^ bits[i], 0x01000193) >>> 0
  return h
}

export function seededSources(o: PixelSourceOptions): PixelSources {
  let fixed: Float32Array | null = null
  const per = o.chw[0] * o.chw[1] * o.chw[2]
  const baseline = (input: Float32Array): Float32Array => {
    switch (o.baseline) {
      case 'black':
        return (fixed ??= blackBaseline(o.preprocess))
      case 'uniform':
        return (fixed ??= uniformBaseline(o.preprocess, o.seed))
      case 'blurred':
        return blurredBaseline(input, o.chw, o.layout)
      case 'image':
        if (!o.baselineImage) throw new ApiError('invalid-arguments', 'baseline "image" needs baselineImage: the picture the path starts from.', undefined, { field: 'baselineImage' })
        return o.baselineImage
    }
  }
  return {
    baseline: (input) => {
      const b = baseline(input)
      if (b.length !== per) throw new ApiError('invalid-arguments', `The baseline has ${b.length} values; the model input has ${per}.`, undefined, { field: 'baseline' })
      return b
    },
    noise: (input, k, sigma) => gaussian(stream(o.seed, contentKey(input), k), input.length, sigma)
  }
}
