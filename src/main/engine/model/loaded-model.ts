import { basename } from 'node:path'
import type { ModelSummary } from '../../../shared/api'
import { ApiError } from '../../../shared/errors'
import { probeShapes } from '../exec/probe'
import { inferElemTypes } from '../onnx/elem-types'
import { GraphIndex } from '../onnx/ir'
import type { ModelProto } from '../onnx/model-file'
import { openModelFile } from '../formats'
import { summarize } from '../onnx/summary'
import { inferPreprocess, type Preprocess } from '../data/preprocess'

export function inputDims(layout: 'NCHW' | 'NHWC', n: number, [c, h, w]: [number, number, number]): number[] {
  return layout === 'NCHW' ? [n, c, h, w] : [n, h, w, c]
}

/**
 * A model opened for computation: the decoded graph, element types, static shapes from one probe
 * run, and the facts every CAM or training graph needs (image input, logits output, class count).
 */
export class LoadedModel {
  private constructor(
    readonly path: string,
    readonly bytes: Uint8Array,
    readonly model: ModelProto,
    readonly index: GraphIndex,
    readonly types: Map<string, number>,
    readonly shapes: Map<string, number[]>,
    readonly inputName: string,
    /** [C, H, W] as probed (symbolic spatial sizes fixed at the preprocessing size). */
    readonly inputChw: [number, number, number],
    /** How the input tensor is laid out; tf2onnx models often take NHWC. */
    readonly layout: 'NCHW' | 'NHWC',
    /** False when the file fixes the batch size (then we run one image at a time). */
    readonly dynamicBatch: boolean,
    readonly fixedBatch: number,
    readonly logitsName: string,
    readonly numClasses: number,
    readonly summary: ModelSummary
  ) {}

  get file(): string {
    return basename(this.path)
  }

  get labels(): string[] | null {
    return this.summary.labels
  }

  static async open(path: string, labels: string[] | null = null): Promise<LoadedModel> {
    const { model, bytes } = await openModelFile(path)
    const summary = summarize(model, path, bytes.byteLength, labels)
    const index = new GraphIndex(model)
    const file = basename(path)
    const input = summary.inputs[0]
    if (!input || input.shape.length !== 4 || input.elemType !== 'float') {
      throw new ApiError(
        'unsupported',
        `${file} is not an image classifier Metascope can run: its first input must be a float image tensor [N, C, H, W] or [N, H, W, C] (found ${input ? `${input.elemType} [${input.shape.join(', ')}]` : 'no input'}).`,
        path
      )
    }
    if (summary.inputs.length > 1) {
      throw new ApiError('unsupported', `${file} has ${summary.inputs.length} inputs; only single-input image classifiers are supported.`, path)
    }
    let pre: Preprocess
    try {
      pre = inferPreprocess(input.shape)
    } catch (err) {
      throw new ApiError('unsupported', `${file}: ${(err as Error).message}`, path)
    }
    const n = input.shape[0]
    const dynamicBatch = typeof n !== 'number' || n <= 0
    const fixedBatch = dynamicBatch ? 0 : (n as number)
    const chw: [number, number, number] = [pre.channels ?? 3, pre.size[0], pre.size[1]]
    const probeBatch = dynamicBatch ? 2 : fixedBatch
    let shapes: Map<string, number[]>
    try {
      shapes = (await probeShapes(index, input.name, inputDims(pre.layout, probeBatch, chw), path)).shapes
    } catch (err) {
      if (err instanceof ApiError) throw err
      throw new ApiError('unsupported', `onnxruntime could not run ${file}: ${(err as Error).message}`, path)
    }
    const logitsName = summary.outputs[0]?.name
    const logitsShape = logitsName ? shapes.get(logitsName) : undefined
    if (!logitsName || !logitsShape || logitsShape.length !== 2) {
      throw new ApiError('unsupported', `${file} does not output class scores [N, classes] (first output shape [${logitsShape?.join(', ') ?? '?'}]).`, path)
    }
    const numClasses = logitsShape[1]
    if (summary.labels && summary.labels.length !== numClasses) {
      throw new ApiError('invalid-arguments', `The labels for ${file} list ${summary.labels.length} classes but the model outputs ${numClasses}.`, path)
    }
    const types = inferElemTypes(index)
    return new LoadedModel(path, bytes, model, index, types, shapes, input.name, chw, pre.layout, dynamicBatch, fixedBatch, logitsName, numClasses, summary)
  }

  /** The input tensor's dims for a batch of n images, in the model's layout. */
  inputDims(n: number): number[] {
    return inputDims(this.layout, n, this.inputChw)
  }

  labelOf(classIndex: number): string {
    return this.labels?.[classIndex] ?? String(classIndex)
  }

  /** Turns `top1`, a class index or a label into a class index (-1 = top-1), range-checked. */
  resolveTarget(target: string | number | undefined): number {
    if (target === undefined || target === 'top1' || target === '') return -1
    const asNumber = typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : NaN
    if (!Number.isNaN(asNumber)) {
      if (asNumber < 0 || asNumber >= this.numClasses) {
        throw new ApiError('out-of-range', `Target class ${asNumber} is out of range: ${this.file} has ${this.numClasses} classes (0-${this.numClasses - 1}).`, this.path)
      }
      return asNumber
    }
    const i = this.labels?.indexOf(String(target)) ?? -1
    if (i < 0) {
      throw new ApiError('out-of-range', `Target "${target}" is not a class of ${this.file}${this.labels ? '' : ' (the model has no labels; give a class index or --labels)'}.`, this.path)
    }
    return i
  }
}
