import type { ModelOpenPhase } from '../../../shared/events'
import type { ModelFormatId } from '../../../shared/registry/model-formats'
import type { ModelProto } from '../onnx/model-file'
import type { InputScaling } from './tfjs-input-scaling'

/** The model formats Metascope opens (src/shared/registry/model-formats.ts); everything downstream sees only the ONNX IR they yield. */
export type ModelFormatName = ModelFormatId

/** What a format module hands the engine: the ONNX IR, ready for onnxruntime and the VJP compiler. */
export interface OpenedModel {
  format: ModelFormatName
  model: ModelProto
  /** The model encoded as ONNX bytes (the file itself for an unchanged ONNX file). */
  bytes: Uint8Array
  /** Things the user should know but that do not stop the model from opening (e.g. an opset upgrade). */
  warnings: string[]
  /**
   * Set when operands the gradient rules need constant (e.g. pads) are computed from the input's
   * height/width, which the file leaves open: LoadedModel folds them once it has chosen the size.
   * The message is the warning to drop when that succeeds.
   */
  sizeDependent?: { warning: string }
  /** What the model's own layers at its input say about its normalisation (Keras Rescaling / Normalization). */
  inputScaling?: InputScaling
}

/**
 * One module per format, as Netron's model factories: `match` looks at the path and the first bytes
 * only (cheap, no decoding); `open` reads the whole model (and its side files) and converts it.
 */
export interface ModelFormat {
  name: ModelFormatName
  /** `head` is up to the first 4 KiB of the file. */
  match(path: string, head: Buffer): boolean
  /** `onPhase` hears each slow stage as it starts (a 224 px model takes seconds to convert). */
  open(path: string, onPhase?: (phase: ModelOpenPhase) => void): Promise<OpenedModel>
}
