import { channelSum, weightedSum, type GradientCamModule } from './base'

/** XGrad-CAM: w_k = sum_p G * A / (sum_p A + eps). */
export const xgradcam: GradientCamModule = {
  id: 'xgradcam',
  kind: 'gradient',
  reference: (a, g, k, area) => {
    const w = new Float64Array(k)
    for (let c = 0; c < k; c++) {
      const off = c * area
      const sumA = channelSum(a, c, area)
      let s = 0
      for (let p = 0; p < area; p++) s += (g[off + p] * a[off + p]) / (sumA + 1e-7)
      w[c] = s
    }
    return weightedSum(a, w, area)
  },
  emit: (b, a, g) => {
    const spatial = [2, 3]
    const sumA = b.op('Add', [b.reduce('ReduceSum', a, spatial), b.constF32([1e-7], [])])
    const w = b.reduce('ReduceSum', b.op('Div', [b.op('Mul', [g, a]), sumA]), spatial)
    return b.reduce('ReduceSum', b.op('Mul', [a, w]), [1])
  }
}
