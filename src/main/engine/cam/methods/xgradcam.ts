import { pixelWeightedCam, type GradientCamModule } from './base'

/** XGrad-CAM: w_k = sum_p G * A / (sum_p A + eps). */
export const xgradcam: GradientCamModule = {
  id: 'xgradcam',
  kind: 'gradient',
  reference: (a, g, k, area) => pixelWeightedCam(a, g, k, area, (gv, av, sumA) => (gv * av) / (sumA + 1e-7)),
  emit: (b, a, g) => {
    const spatial = [2, 3]
    const sumA = b.op('Add', [b.reduce('ReduceSum', a, spatial), b.constF32([1e-7], [])])
    const w = b.reduce('ReduceSum', b.op('Div', [b.op('Mul', [g, a]), sumA]), spatial)
    return b.reduce('ReduceSum', b.op('Mul', [a, w]), [1])
  }
}
