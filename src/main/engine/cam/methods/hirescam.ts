import { elementwiseSum, type GradientCamModule } from './base'

/** HiRes-CAM: the element-wise product of gradients and activations, summed over channels (no spatial averaging). */
export const hirescam: GradientCamModule = {
  id: 'hirescam',
  kind: 'gradient',
  reference: (a, g, k, area) => elementwiseSum(a, g, k, area, (x) => x),
  emit: (b, a, g) => b.reduce('ReduceSum', b.op('Mul', [a, g]), [1])
}
