import type { GraphBuilder } from '../../onnx/builder'
import { f32 } from '../../onnx/tensor-data'
import type { GradientCamModule } from './base'
import { EIGEN_ITERATIONS, eigencam } from './eigencam'

/**
 * EigenGradCAM (pytorch-grad-cam): Eigen-CAM's first-principal-component projection, of G * A instead
 * of A (so it has a class). The sign, arbitrary in an SVD, is Eigen-CAM's: the projection agrees with
 * the channel mean of G * A (HiRes-CAM's map, up to a factor).
 */
export const eigengradcam: GradientCamModule = {
  id: 'eigengradcam',
  kind: 'gradient',
  reference: (a, g, k, area) => eigencam(Float32Array.from(a, (v, i) => v * g[i]), k, area),
  emit: (b, a, g) => emitProjection(b, b.op('Mul', [a, g]))
}

/**
 * Eigen-CAM's projection as graph nodes, the same power iteration as eigencam() (same start, same
 * number of steps), over x [B, K, h, w]; returns [B, 1, h, w].
 */
export function emitProjection(b: GraphBuilder, x: string): string {
  const flat = b.op('Reshape', [x, b.constI64([0, 0, -1])]) // [B, K, hw]
  const centred = b.op('Sub', [flat, b.reduce('ReduceMean', flat, [2])])
  const transposed = b.op('Transpose', [centred], { perm: [0, 2, 1] }) // [B, hw, K]
  // The start vector's scale drops out at the first normalisation, so ones stand for 1/sqrt(K).
  let v = b.op('ConstantOfShape', [b.op('Shape', [b.reduce('ReduceMean', centred, [2])])], { value: f32([1], [1]) })
  const tiny = b.constF32([1e-30], [])
  for (let it = 0; it < EIGEN_ITERATIONS; it++) {
    const next = b.op('MatMul', [centred, b.op('MatMul', [transposed, v])]) // [B, K, 1]
    const norm = b.op('Sqrt', [b.reduce('ReduceSum', b.op('Mul', [next, next]), [1])])
    v = b.op('Div', [next, b.op('Max', [norm, tiny])])
  }
  const proj = b.op('MatMul', [transposed, v]) // [B, hw, 1]
  const agree = b.op('MatMul', [b.reduce('ReduceMean', flat, [1]), proj]) // [B, 1, 1]
  const sign = b.op('Where', [b.op('Less', [agree, b.constF32([0], [])]), b.constF32([-1], []), b.constF32([1], [])])
  const shape = b.op('Shape', [x])
  const mapShape = b.op('Concat', [b.op('Slice', [shape, b.constI64([0]), b.constI64([1])]), b.constI64([1]), b.op('Slice', [shape, b.constI64([2]), b.constI64([4])])], { axis: 0 })
  return b.op('Reshape', [b.op('Mul', [proj, sign]), mapShape])
}
