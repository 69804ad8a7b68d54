import { floatAttr, type GraphBuilder } from '../onnx/builder'
import type { GradientMethod } from './methods'

/**
 * The gradient CAM methods as graph nodes, so one onnxruntime run returns finished maps instead of
 * activations and gradients (which are large: K x h x w per image). Mirrors methods.ts exactly; the
 * JS versions remain the readable reference (test/unit/cam-graph-methods.test.ts holds the two equal)
 * and serve Eigen-CAM and Score-CAM.
 */
export function emitRawCam(b: GraphBuilder, method: GradientMethod, a: string, g: string): string {
  const spatial = [2, 3]
  const weighted = (w: string) => b.reduce('ReduceSum', b.op('Mul', [a, w]), [1])
  switch (method) {
    case 'gradcam':
      return weighted(b.reduce('ReduceMean', g, spatial))
    case 'hirescam':
      return b.reduce('ReduceSum', b.op('Mul', [a, g]), [1])
    case 'layercam':
      return b.reduce('ReduceSum', b.op('Mul', [a, b.op('Relu', [g])]), [1])
    case 'xgradcam': {
      const sumA = b.op('Add', [b.reduce('ReduceSum', a, spatial), b.constF32([1e-7], [])])
      return weighted(b.reduce('ReduceSum', b.op('Div', [b.op('Mul', [g, a]), sumA]), spatial))
    }
    case 'gradcam++': {
      const g2 = b.op('Mul', [g, g])
      const g3 = b.op('Mul', [g2, g])
      const sumA = b.reduce('ReduceSum', a, spatial)
      const denom = b.op('Add', [b.op('Add', [b.op('Mul', [g2, b.constF32([2], [])]), b.op('Mul', [sumA, g3])]), b.constF32([1e-6], [])])
      const alpha = b.op('Where', [b.op('Equal', [g, b.constF32([0], [])]), b.constF32([0], []), b.op('Div', [g2, denom])])
      return weighted(b.reduce('ReduceSum', b.op('Mul', [b.op('Relu', [g]), alpha]), spatial))
    }
  }
}

/** Per-image min-max scaling over [1, h, w]: (x - min) / (1e-7 + max(x - min)), as pytorch-grad-cam. */
function minMax(b: GraphBuilder, x: string): string {
  const shifted = b.op('Sub', [x, b.reduce('ReduceMin', x, [1, 2, 3])])
  return b.op('Div', [shifted, b.op('Add', [b.reduce('ReduceMax', shifted, [1, 2, 3]), b.constF32([1e-7], [])])])
}

/**
 * ReLU, min-max at layer resolution, bilinear resize with half-pixel centres to the input size,
 * min-max again. Returns the ReLU'd raw map [B, 1, h, w] and the final map [B, 1, H, W].
 */
export function emitMapTail(b: GraphBuilder, rawCam: string, height: number, width: number): { raw: string; map: string } {
  const raw = b.op('Relu', [rawCam])
  const sizes = b.op('Concat', [b.op('Slice', [b.op('Shape', [raw]), b.constI64([0]), b.constI64([2])]), b.constI64([height, width])], { axis: 0 })
  const resized = b.op('Resize', [minMax(b, raw), '', '', sizes], {
    mode: 'linear',
    coordinate_transformation_mode: 'half_pixel',
    // Unused for linear mode, but spelled out so the graph reads the same on every runtime.
    cubic_coeff_a: floatAttr(-0.75)
  })
  return { raw, map: minMax(b, resized) }
}
