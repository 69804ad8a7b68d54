import { basename } from 'node:path'
import type { ModelSummary } from '../../../shared/api'
import type { ModelOpenPhase } from '../../../shared/events'
import type { ModelPreprocess } from '../../../shared/preprocess'
import { ApiError } from '../../../shared/errors'
import { fileDetails } from '../errors'
import { probeShapes } from '../exec/probe'
import { inferElemTypes } from '../onnx/elem-types'
import { GraphIndex } from '../onnx/ir'
import type { ModelProto } from '../onnx/model-file'
import { onnx } from 'onnx-proto'
import { openModelFile } from '../formats'
import { foldConstants } from '../exec/fold'
import { chooseLabels, summarize } from '../onnx/summary'
import { hasDynamicSize, inferPreprocess, type Preprocess } from '../data/preprocess-spec'
import { sizeFromMetadata } from '../data/preprocess-metadata'
import { describePreprocess } from '../data/preprocess-summary'
import { findScoreTensor, type ScoreTensor } from './scores'
import { withProbedShapes } from './output-shapes'
import type { OutputKind } from '../../../shared/targets'

/** The stated rule of ModelSummary.outputKind (src/shared/targets.ts): never a guess between classes and an embedding. */
function outputKindOf(score: ScoreTensor, shape: number[], labels: string[] | null): OutputKind {
  if (shape.length === 4) return 'segmentation'
  if (score.activation === 'sigmoid') return 'multilabel'
  if (score.activation !== 'none') return 'classes'
  if (shape[1] === 1) return 'regression'
  return labels ? 'classes' : 'scores'
}

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
    /** The model's own (first) output: class scores, or probabilities when the model ends in an activation. */
    readonly logitsName: string,
    readonly numClasses: number,
    readonly summary: ModelSummary,
    /** The class scores before a final Softmax/LogSoftmax/Sigmoid: what Grad-CAM differentiates. */
    readonly score: ScoreTensor,
    /** True when the file leaves height and width open: then inputChw is the size chosen at open. */
    readonly dynamicSize: boolean
  ) {}

  get file(): string {
    return basename(this.path)
  }

  get labels(): string[] | null {
    return this.summary.labels
  }

  get outputKind(): OutputKind {
    return this.summary.outputKind ?? 'classes'
  }

  /** Per-pixel class scores [N, C, H, W]: class targets are read as a class's mean over the output. */
  get segmentation(): boolean {
    return this.outputKind === 'segmentation'
  }

  /** The audit and few-shot adaptation read one class per image: a segmentation model is refused by name. */
  requireImageClassifier(what: string): this {
    if (this.segmentation) {
      throw new ApiError('unsupported', `${this.file} is a segmentation model (per-pixel class scores [N, C, H, W]); ${what} needs one class per image [N, classes]. CAM runs take its region targets.`, this.path, fileDetails('model', this.path, 'segmentation', {}))
    }
    return this
  }

  /**
   * Opens a model. `size` ([height, width]) is the input size for a model whose height/width are
   * dynamic; without it the model's metadata (metascope.size, input_size, image_size) decides, else
   * 224x224. A model with a fixed size refuses another one. `onPhase` hears each stage as it starts.
   */
  static async open(path: string, labels: string[] | null = null, opts: { size?: [number, number]; onPhase?: (phase: ModelOpenPhase) => void } = {}): Promise<LoadedModel> {
    const opened = await openModelFile(path, opts.onPhase)
    let { model, bytes } = opened
    // The summary reads the converted IR; the file's own format is the converter's to say.
    const base = { ...summarize(model, path, bytes.byteLength, labels), format: opened.format }
    let index = new GraphIndex(model)
    let openWarnings = opened.warnings
    const file = basename(path)
    const input = base.inputs[0]
    if (!input || input.shape.length !== 4 || input.elemType !== 'float') {
      throw new ApiError(
        'unsupported',
        `${file} is not an image classifier Metascope can run: its first input must be a float image tensor [N, C, H, W] or [N, H, W, C] (found ${input ? `${input.elemType} [${input.shape.join(', ')}]` : 'no input'}).`,
        path,
        fileDetails('model', path, 'not-image-input', { found: input ? `${input.elemType} [${input.shape.join(', ')}]` : '—' })
      )
    }
    if (base.inputs.length > 1) {
      throw new ApiError('unsupported', `${file} has ${base.inputs.length} inputs; only single-input image classifiers are supported.`, path, fileDetails('model', path, 'inputs', { count: base.inputs.length }))
    }
    let pre: Preprocess
    try {
      pre = inferPreprocess(input.shape)
    } catch (err) {
      throw new ApiError('unsupported', `${file}: ${(err as Error).message}`, path)
    }
    const dynamicSize = hasDynamicSize(input.shape, pre.layout)
    let sizeSource: ModelPreprocess['source']['size'] = dynamicSize ? 'default' : 'shape'
    if (dynamicSize) {
      let fromMeta: [number, number] | null
      try {
        fromMeta = sizeFromMetadata(base.metadata)
      } catch (err) {
        throw new ApiError('bad-file', `${file}: ${(err as Error).message}`, path)
      }
      const size = opts.size ?? fromMeta
      if (size) pre = inferPreprocess(input.shape, { size })
      if (opts.size) sizeSource = 'chosen'
      else if (fromMeta) sizeSource = 'metadata'
    } else if (opts.size && (opts.size[0] !== pre.size[0] || opts.size[1] !== pre.size[1])) {
      throw new ApiError(
        'invalid-arguments',
        `${file} takes ${pre.size[1]}x${pre.size[0]} (width x height) inputs only; its input size is fixed, so ${opts.size[1]}x${opts.size[0]} cannot be used.`,
        path,
        // The caller's size argument (cam.run's, fewshot.adapt's; the CLI names its flag).
        { field: 'size', constraint: 'fixed', file, value: `${opts.size[1]}x${opts.size[0]}` }
      )
    }
    const summary: ModelSummary = { ...base, preprocess: describePreprocess(input.shape, base.metadata, pre.size, sizeSource, opened.inputScaling) }
    const n = input.shape[0]
    const dynamicBatch = typeof n !== 'number' || n <= 0
    const fixedBatch = dynamicBatch ? 0 : (n as number)
    const chw: [number, number, number] = [pre.channels ?? 3, pre.size[0], pre.size[1]]
    if (dynamicSize && opened.sizeDependent) {
      // Operands computed from the image size (TF-"same" pads) are constant once the size is chosen.
      const dims = [inputDims(pre.layout, 1, chw), ...(dynamicBatch ? [inputDims(pre.layout, 2, chw)] : [])]
      opts.onPhase?.('preparing')
      const folded = await foldConstants(model, { label: path, probe: { input: input.name, dims } }).catch(() => null)
      if (folded?.changed) {
        bytes = onnx.ModelProto.encode(folded.model).finish()
        model = onnx.ModelProto.decode(bytes)
        index = new GraphIndex(model)
      }
      if (folded && !folded.unfolded.length) openWarnings = openWarnings.filter((w) => w !== opened.sizeDependent!.warning)
    }
    const probeBatch = dynamicBatch ? 2 : fixedBatch
    opts.onPhase?.('probing')
    let shapes: Map<string, number[]>
    try {
      shapes = (await probeShapes(index, input.name, inputDims(pre.layout, probeBatch, chw), path)).shapes
    } catch (err) {
      if (err instanceof ApiError) throw err
      throw new ApiError('unsupported', `onnxruntime could not run ${file}: ${(err as Error).message}`, path, fileDetails('model', path, 'runtime', { reason: (err as Error).message }))
    }
    const logitsName = summary.outputs[0]?.name
    const logitsShape = logitsName ? shapes.get(logitsName) : undefined
    // [N, classes], or per-pixel class scores [N, C, H, W] (a segmentation model; channels first).
    const segmentation = logitsShape?.length === 4 && logitsShape[2] * logitsShape[3] > 1
    if (!logitsName || !logitsShape || (logitsShape.length !== 2 && !segmentation)) {
      throw new ApiError('unsupported', `${file} does not output class scores [N, classes] or per-pixel class scores [N, C, H, W] (first output shape [${logitsShape?.join(', ') ?? '?'}]).`, path, fileDetails('model', path, 'not-classifier', { shape: `[${logitsShape?.join(', ') ?? '?'}]` }))
    }
    const numClasses = logitsShape[1]
    summary.outputs = withProbedShapes(summary.outputs, shapes, dynamicBatch, dynamicSize)
    // A labels file the user gave must fit; labels metadata that does not is a warning (class numbers).
    if (labels && labels.length !== numClasses) {
      throw new ApiError('invalid-arguments', `The labels for ${file} list ${labels.length} classes but the model outputs ${numClasses}.`, path, { field: 'labelsPath', constraint: 'count', model: file, count: labels.length, classes: numClasses })
    }
    const warnings = [...openWarnings, ...(summary.warnings ?? [])]
    if (!labels) {
      const chosen = chooseLabels(summary.metadata, numClasses, file)
      summary.labels = chosen.labels
      if (chosen.warning) warnings.push(chosen.warning)
    }
    if (warnings.length) summary.warnings = warnings
    const types = inferElemTypes(index)
    const score = findScoreTensor(index, shapes, logitsName, numClasses, segmentation ? logitsShape : undefined)
    summary.outputKind = outputKindOf(score, logitsShape, summary.labels)
    return new LoadedModel(path, bytes, model, index, types, shapes, input.name, chw, pre.layout, dynamicBatch, fixedBatch, logitsName, numClasses, summary, score, dynamicSize)
  }

  /** [height, width] the model runs at. */
  get size(): [number, number] {
    return [this.inputChw[1], this.inputChw[2]]
  }

  /**
   * This model at another input size ([height, width]): itself when the size is the same, else
   * opened again (shapes are probed per size). Fixed-size models refuse another size.
   */
  async atSize(size: [number, number]): Promise<LoadedModel> {
    if (size[0] === this.inputChw[1] && size[1] === this.inputChw[2]) return this
    // The last other size is kept: repeated runs at one size (the UI's) probe once.
    const key = size.join('x')
    if (this.resized?.key !== key) this.resized = { key, model: LoadedModel.open(this.path, this.labels, { size }) }
    const pending = this.resized
    return pending.model.catch((err: unknown) => {
      if (this.resized === pending) this.resized = undefined
      throw err
    })
  }

  private resized?: { key: string; model: Promise<LoadedModel> }

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
        throw new ApiError('out-of-range', `Target class ${asNumber} is out of range: ${this.file} has ${this.numClasses} classes (0-${this.numClasses - 1}).`, this.path, { field: 'target', constraint: 'range', value: asNumber, max: this.numClasses - 1 })
      }
      return asNumber
    }
    const i = this.labels?.indexOf(String(target)) ?? -1
    if (i < 0) {
      throw new ApiError('out-of-range', `Target "${target}" is not a class of ${this.file}${this.labels ? '' : ' (the model has no labels; give a class index or a labels file)'}.`, this.path, { field: 'target', constraint: this.labels ? 'unknown-class' : 'no-labels', value: String(target) })
    }
    return i
  }
}
