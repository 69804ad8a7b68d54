import { readOnnxModel } from '../onnx/model-file'
import type { ModelFormat } from './types'

/** ONNX files: the fallback format (any file no other format claims is tried as ONNX). */
export const onnxFormat: ModelFormat = {
  name: 'onnx',
  match: () => true,
  async open(path) {
    const { model, bytes } = await readOnnxModel(path)
    return { format: 'onnx', model, bytes, warnings: [] }
  }
}
