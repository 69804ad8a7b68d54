import type { TensorInfo } from '../../../shared/api'

/**
 * The outputs with their shapes filled in from the probe run where the file leaves them out: the
 * tfjs converters declare outputs without a shape (a Keras head's is only known once traced), and
 * some ONNX exporters do too. The batch dimension stays symbolic when the model takes any batch;
 * for a model that takes any height and width, an output of more than two dimensions may follow the
 * input's size, so its dimensions are shown unknown (null) rather than as probed at one size.
 */
export function withProbedShapes(outputs: TensorInfo[], shapes: Map<string, number[]>, dynamicBatch: boolean, dynamicSize: boolean): TensorInfo[] {
  return outputs.map((o) => {
    const probed = shapes.get(o.name)
    if (o.shape.length || !probed) return o
    const shape = probed.map((d, i): TensorInfo['shape'][number] => {
      if (i === 0) return dynamicBatch ? 'batch' : d
      return dynamicSize && probed.length > 2 ? null : d
    })
    return { ...o, shape }
  })
}
