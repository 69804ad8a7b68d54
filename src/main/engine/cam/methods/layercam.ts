import { elementwiseSum, type GradientCamModule } from './base'

/** LayerCAM: positive gradients weight each activation element. */
export const layercam: GradientCamModule = {
  id: 'layercam',
  kind: 'gradient',
  reference: (a, g, k, area) => elementwiseSum(a, g, k, area, (x) => (x > 0 ? x : 0)),
  emit: (b, a, g) => b.reduce('ReduceSum', b.op('Mul', [a, b.op('Relu', [g])]), [1])
}
