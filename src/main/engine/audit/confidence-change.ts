import { at, type Plane } from './pixels'

/**
 * The input multiplied by its map (pytorch-grad-cam's CamMultImageConfidenceChange): every channel of
 * pixel p scaled by map[p] in [0, 1]. The metric is p(target | x * map) - p(target | x): a map that
 * keeps what the model uses loses little confidence.
 */
export function fillMasked(dst: Float32Array, x: Float32Array, map: Float32Array, plane: Plane): void {
  const area = plane.height * plane.width
  for (let p = 0; p < area; p++) for (let c = 0; c < plane.channels; c++) dst[at(plane, p, c)] = x[at(plane, p, c)] * map[p]
}
