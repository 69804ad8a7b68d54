import { ApiError } from '../../../../../shared/errors'
import type { Random } from '../../../data/random'
import type { Preprocess } from '../../../data/preprocess-spec'

/**
 * Support-set augmentation for deep adaptation, on the preprocessed input tensor (after resizing and
 * normalisation, in the model's layout): a horizontal flip (half of the views), a random resized crop
 * (60-100% of the area, aspect 3:4 to 4:3, resampled bilinearly back to the input size) and a colour
 * jitter (brightness +-0.2 and contrast x0.8-1.2 of the image's own spread, per channel +-5% for
 * colour). Views are drawn from a seeded generator, so the same seed gives the same views.
 */

/** The smallest side a crop can be taken from: below it a crop is the whole image or nothing. */
export const MIN_AUGMENT_SIDE = 8

/** Refuses augmentation on an input too small to crop (a 1x1 or 2x2 "image" of features). */
export function checkAugmentable(pre: Preprocess, file: string, path?: string): void {
  const [h, w] = pre.size
  if (h < MIN_AUGMENT_SIDE || w < MIN_AUGMENT_SIDE) {
    throw new ApiError(
      'unsupported',
      `${file} takes ${w}x${h} inputs; augmentation (flip, crop, colour jitter) needs at least ${MIN_AUGMENT_SIDE}x${MIN_AUGMENT_SIDE} pixels to crop from. Adapt without augmentation.`,
      path,
      { field: 'augment', constraint: 'too-small', value: `${w}x${h}`, min: `${MIN_AUGMENT_SIDE}x${MIN_AUGMENT_SIDE}`, file }
    )
  }
}

/** One augmented view of `x` (one image, [C*H*W] in `pre.layout`). */
export function augmentView(x: Float32Array, pre: Preprocess, rng: Random): Float32Array {
  const [h, w] = pre.size
  const c = x.length / (h * w)
  const at = pre.layout === 'NCHW' ? (ch: number, y: number, xx: number) => (ch * h + y) * w + xx : (ch: number, y: number, xx: number) => (y * w + xx) * c + ch
  // Random resized crop: area share s in [0.6, 1], aspect ratio r in [3/4, 4/3].
  const s = 0.6 + 0.4 * rng.float()
  const r = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rng.float())
  const ch = Math.min(h, Math.sqrt(s * h * w / r))
  const cw = Math.min(w, Math.sqrt(s * h * w * r))
  const y0 = rng.float() * (h - ch)
  const x0 = rng.float() * (w - cw)
  const flip = rng.float() < 0.5
  const brightness = (rng.float() * 2 - 1) * 0.2
  const contrast = 0.8 + 0.4 * rng.float()
  const tint = Array.from({ length: c }, () => 1 + (rng.float() * 2 - 1) * 0.05)
  let mean = 0
  for (let i = 0; i < x.length; i++) mean += x[i]
  mean /= x.length
  let sq = 0
  for (let i = 0; i < x.length; i++) sq += (x[i] - mean) ** 2
  const spread = Math.sqrt(sq / x.length) || 1
  const out = new Float32Array(x.length)
  for (let y = 0; y < h; y++) {
    // Pixel centres of the output mapped into the crop.
    const sy = Math.min(h - 1, Math.max(0, y0 + ((y + 0.5) * ch) / h - 0.5))
    const ya = Math.floor(sy)
    const yb = Math.min(h - 1, ya + 1)
    const fy = sy - ya
    for (let xx = 0; xx < w; xx++) {
      const ox = flip ? w - 1 - xx : xx
      const sx = Math.min(w - 1, Math.max(0, x0 + ((ox + 0.5) * cw) / w - 0.5))
      const xa = Math.floor(sx)
      const xb = Math.min(w - 1, xa + 1)
      const fx = sx - xa
      for (let k = 0; k < c; k++) {
        const v =
          (1 - fy) * ((1 - fx) * x[at(k, ya, xa)] + fx * x[at(k, ya, xb)]) + fy * ((1 - fx) * x[at(k, yb, xa)] + fx * x[at(k, yb, xb)])
        out[at(k, y, xx)] = (mean + (v - mean) * contrast) * tint[k] + brightness * spread
      }
    }
  }
  return out
}
