import { pixelWeightedCam, type GradientCamModule } from './base'

/** Grad-CAM++: w_k = sum_p relu(G) * alpha, alpha = G^2 / (2 G^2 + sum_p(A) G^3) (0 where G = 0). */
export const gradcamPlusPlus: GradientCamModule = {
  id: 'gradcam++',
  kind: 'gradient',
  reference: (a, g, k, area) =>
    pixelWeightedCam(a, g, k, area, (gv, _av, sumA) => {
      if (gv === 0) return 0
      const g2 = gv * gv
      return Math.max(gv, 0) * (g2 / (2 * g2 + sumA * g2 * gv + 1e-6))
    }),
  emit: (b, a, g) => {
    const spatial = [2, 3]
    const g2 = b.op('Mul', [g, g])
    const g3 = b.op('Mul', [g2, g])
    const sumA = b.reduce('ReduceSum', a, spatial)
    const denom = b.op('Add', [b.op('Add', [b.op('Mul', [g2, b.constF32([2], [])]), b.op('Mul', [sumA, g3])]), b.constF32([1e-6], [])])
    const alpha = b.op('Where', [b.op('Equal', [g, b.constF32([0], [])]), b.constF32([0], []), b.op('Div', [g2, denom])])
    const w = b.reduce('ReduceSum', b.op('Mul', [b.op('Relu', [g]), alpha]), spatial)
    return b.reduce('ReduceSum', b.op('Mul', [a, w]), [1])
  }
}
