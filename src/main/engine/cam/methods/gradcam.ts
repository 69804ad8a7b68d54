import { channelSum, weightedSum, type GradientCamModule } from './base'

/** Grad-CAM: w_k = mean of G over space; cam = sum_k w_k A_k. */
export const gradcam: GradientCamModule = {
  id: 'gradcam',
  kind: 'gradient',
  reference: (a, g, k, area) => {
    const w = new Float64Array(k)
    for (let c = 0; c < k; c++) w[c] = channelSum(g, c, area) / area
    return weightedSum(a, w, area)
  },
  emit: (b, a, g) => b.reduce('ReduceSum', b.op('Mul', [a, b.reduce('ReduceMean', g, [2, 3])]), [1])
}
