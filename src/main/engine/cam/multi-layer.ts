import { ApiError } from '../../../shared/errors'
import type { GraphIndex } from '../onnx/ir'
import { minMaxNormalize } from './normalize'
import { resizeBilinear } from './resize'
import type { CamMap } from './runner'

/**
 * The layers a `layer` setting names: one (a tensor name, a module scope or `auto`), or several
 * separated by commas (`layer2,layer4`), each resolved as one. A tensor whose own name holds a comma
 * is taken as that one tensor.
 */
export function layerList(index: GraphIndex, spec: string, modelPath: string): string[] {
  if (!spec.includes(',') || index.producer.has(spec) || index.inputNames.includes(spec)) return [spec]
  const layers = spec.split(',').map((s) => s.trim())
  if (layers.some((l) => l === '')) {
    throw new ApiError('invalid-arguments', `The layer list "${spec}" has an empty entry: name the layers separated by single commas (e.g. layer2,layer4).`, modelPath, { field: 'layer', value: spec })
  }
  return layers
}

/**
 * pytorch-grad-cam's multi-layer CAM (compute_cam_per_layer, then aggregate_multi_layers): each
 * layer's ReLU'd map is min-max scaled and resized to the input size, the layers' maps are averaged,
 * and the average is min-max scaled. `perLayer[l][i]` is layer l's result for image i; predictions and
 * target come from the first layer's run (every layer sees the same forward pass). The combined
 * result's raw map is the average before the last scaling, at the input's resolution.
 */
export function combineLayers(perLayer: CamMap[][], layers: string[], height: number, width: number): CamMap[] {
  return perLayer[0].map((first, i) => {
    const mean = new Float32Array(height * width)
    for (const results of perLayer) {
      const r = results[i]
      const scaled = resizeBilinear(minMaxNormalize(r.raw), r.rawShape[0], r.rawShape[1], height, width)
      for (let p = 0; p < mean.length; p++) mean[p] += Math.max(scaled[p], 0) / perLayer.length
    }
    // A layer's own warning (e.g. its map is all zero) says which layer it is about.
    const warnings = perLayer.flatMap((results, l) => (results[i].warnings ?? []).map((w) => `${layers[l]}: ${w}`))
    return { ...first, map: minMaxNormalize(mean), raw: mean, rawShape: [height, width], warnings: warnings.length ? warnings : undefined }
  })
}
