import { ApiError } from '../../../../shared/errors'
import { floatTensor } from '../../exec/ort'
import { weightedSum, type ForwardCamInput, type ForwardCamModule } from './base'

/** pytorch-grad-cam's AblationLayer: how far below the minimum an ablated channel goes when activations can be negative. */
export const ABLATION_OFFSET = 1e7

/**
 * AblationCAM (Desai & Ramaswamy 2020, as pytorch-grad-cam computes it): channel k of the layer is
 * ablated and the rest of the network re-run; w_k = (y - y_k) / y, the relative drop of the target's
 * class score y; cam = sum_k w_k A_k. An ablated channel is set to 0 when the image's activations at
 * the layer have minimum 0 (after a ReLU), else to that minimum - 1e7 (pytorch-grad-cam's value for
 * layers with negative activations, where 0 would not remove anything). One pass per channel, batched.
 */
export async function ablationCam(x: ForwardCamInput): Promise<Float32Array> {
  const tail = x.tail
  const y = x.targetScore
  if (!tail || y === undefined) throw new ApiError('internal', 'AblationCAM needs the model from the layer on and the target score.')
  const { k, h, w } = x
  const area = h * w
  const per = k * area
  let min = Infinity
  for (let i = 0; i < per; i++) if (x.activations[i] < min) min = x.activations[i]
  const value = min === 0 ? 0 : min - ABLATION_OFFSET
  const [c, H, W] = x.chw
  const weights = new Float64Array(k)
  x.onStep?.(0, k)
  for (let start = 0; start < k; start += x.batch) {
    x.throwIfCancelled?.()
    const n = Math.min(x.batch, k - start)
    const acts = new Float32Array(n * per)
    for (let i = 0; i < n; i++) {
      acts.set(x.activations.subarray(0, per), i * per)
      acts.fill(value, i * per + (start + i) * area, i * per + (start + i + 1) * area)
    }
    const feeds = { [tail.layerInput]: floatTensor(acts, [n, k, h, w]) }
    if (tail.imageInput) {
      const images = new Float32Array(n * x.input.length)
      for (let i = 0; i < n; i++) images.set(x.input, i * x.input.length)
      feeds[tail.imageInput] = floatTensor(images, x.layout === 'NCHW' ? [n, c, H, W] : [n, H, W, c])
    }
    const out = await tail.session.run(feeds, [tail.scores])
    const scores = out[tail.scores].data as Float32Array
    const classes = scores.length / n
    for (let i = 0; i < n; i++) weights[start + i] = (y - scores[i * classes + x.target]) / y
    x.onStep?.(start + n, k)
  }
  return weightedSum(x.activations, weights, area)
}

/** AblationCAM as a method: one pass of the rest of the network per channel of the layer. */
export const ablationcam: ForwardCamModule = {
  id: 'ablationcam',
  kind: 'forward',
  needsScores: false,
  needsTail: true,
  raw: ablationCam
}
