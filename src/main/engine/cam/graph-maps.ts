import { floatAttr, type GraphBuilder } from '../onnx/builder'
import { camMethod, type CamMethod } from './methods'

/**
 * A gradient CAM method as graph nodes (its module's `emit`), so one onnxruntime run returns finished
 * maps instead of activations and gradients (which are large: K x h x w per image). Each module also
 * keeps the readable JavaScript definition; test/unit/cam-graph-methods.test.ts holds the two equal.
 */
export function emitRawCam(b: GraphBuilder, method: CamMethod, a: string, g: string): string {
  const m = camMethod(method)
  if (m.kind !== 'gradient') throw new Error(`${method} is not a gradient method: it has no graph form`)
  return m.emit(b, a, g)
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
