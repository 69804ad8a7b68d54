import type { GradientCamModule } from './base'

/**
 * GradCAMElementWise (pytorch-grad-cam): cam = sum_k max(G_k * A_k, 0), the ReLU applied to each
 * element before the channel sum, so no channel's negative evidence cancels another's positive one.
 */
export const gradcamElementwise: GradientCamModule = {
  id: 'gradcamelementwise',
  kind: 'gradient',
  reference: (a, g, k, area) => {
    const cam = new Float64Array(area)
    for (let c = 0; c < k; c++) {
      const off = c * area
      for (let p = 0; p < area; p++) cam[p] += Math.max(g[off + p] * a[off + p], 0)
    }
    return Float32Array.from(cam)
  },
  emit: (b, a, g) => b.reduce('ReduceSum', b.op('Relu', [b.op('Mul', [a, g])]), [1])
}
