import type { ModelInspection } from '../../../shared/api'
import { listLayers, resolveLayer } from './layers'
import type { LoadedModel } from './loaded-model'

/** The summary plus the layer list and what `auto` resolves to (null when there is no 4-D layer). */
export function inspectModel(model: LoadedModel): ModelInspection {
  let autoLayer: string | null
  try {
    autoLayer = resolveLayer(model.index, model.shapes, model.types, 'auto', model.path)
  } catch {
    autoLayer = null
  }
  // Shapes were probed at batch 2 for a dynamic batch; show that axis as -1 (any batch), as ONNX does.
  const layers = listLayers(model.index, model.shapes, model.types).map((l) =>
    model.dynamicBatch && l.shape[0] === 2 ? { ...l, shape: [-1, ...l.shape.slice(1)] } : l
  )
  return { summary: model.summary, numClasses: model.numClasses, autoLayer, layers }
}
