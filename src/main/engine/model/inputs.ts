import { basename, extname } from 'node:path'
import { ApiError, toErrorShape, type ApiErrorShape } from '../../../shared/errors'
import { expandImagePaths } from '../data/images'
import { uniqueNamer } from '../files/names'
import { readNpy } from '../data/npy'
import { loadImageTensor } from '../data/image-tensor'
import { inferPreprocess, type Preprocess } from '../data/preprocess-spec'
import type { LoadedModel } from './loaded-model'

export interface CamInput {
  path: string
  kind: 'image' | 'tensor'
  /** Unique output name: the file stem, suffixed when two inputs share one. */
  stem: string
}

/**
 * Expands files and folders into CAM inputs: images (decoded and preprocessed) and .npy tensors
 * (fed as they are). Paths that do not exist are returned as failures, not thrown, so the others run.
 */
export async function collectInputs(paths: string[]): Promise<{ inputs: CamInput[]; failed: { file: string; error: ApiErrorShape }[] }> {
  const npy = paths.filter((p) => extname(p).toLowerCase() === '.npy')
  const rest = paths.filter((p) => extname(p).toLowerCase() !== '.npy')
  const { files, failed } = await expandImagePaths(rest)
  const all: { path: string; kind: CamInput['kind'] }[] = [
    ...files.map((f) => ({ path: f, kind: 'image' as const })),
    ...npy.map((f) => ({ path: f, kind: 'tensor' as const }))
  ]
  const unique = uniqueNamer()
  const inputs = all.map(({ path, kind }) => ({ path, kind, stem: unique(basename(path, extname(path))) }))
  return { inputs, failed }
}

/**
 * The model's preprocessing: the model summary's `preprocess` (its input shape, the size it was
 * opened at, what its metadata or its input layers state, else the defaults), then the caller's
 * overrides. The size is the model's own: to run at another size, open the model at it
 * (LoadedModel.atSize).
 */
export function modelPreprocess(model: LoadedModel, overrides: Partial<Omit<Preprocess, 'size'>> = {}): Preprocess {
  const { normalization, resize, channelOrder, source } = model.summary.preprocess
  // An unstated channel order stays absent (rgb), as the engine has always meant it.
  const stated = source.channelOrder === 'default' ? {} : { channelOrder }
  return inferPreprocess(model.summary.inputs[0].shape, { normalization, resize, ...stated, ...overrides, size: model.size })
}

/** The [C, H, W] of a .npy input for a model laid out NCHW or NHWC, or null when it is not one image. */
function npyChw(shape: number[], layout: 'NCHW' | 'NHWC'): [number, number, number] | null {
  const s = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape
  if (s.length !== 3) return null
  return layout === 'NCHW' ? [s[0], s[1], s[2]] : [s[2], s[0], s[1]]
}

/**
 * The model to run these inputs with. A model with dynamic height/width runs at `size` when given
 * ([height, width], as the caller gives it), else at the common size of the .npy inputs (a tensor
 * can only be fed at its own size), else as opened (metadata, else 224x224). Unreadable .npy files
 * are left for loadInput to report.
 */
export async function modelForInputs(model: LoadedModel, inputs: { path: string; kind: CamInput['kind'] }[], size?: [number, number]): Promise<LoadedModel> {
  if (size) return model.atSize(size)
  if (!model.dynamicSize) return model
  const sizes = new Set<string>()
  for (const input of inputs) {
    if (input.kind !== 'tensor') continue
    const arr = await readNpy(input.path).catch(() => null)
    const chw = arr && npyChw(arr.shape, model.layout)
    if (chw && chw[0] === model.inputChw[0]) sizes.add(`${chw[1]}x${chw[2]}`)
  }
  if (sizes.size !== 1) return model
  const [h, w] = [...sizes][0].split('x').map(Number)
  return model.atSize([h, w])
}

/** Loads one input as the model's [C*H*W] floats; throws ApiError naming the file on any problem. */
export async function loadInput(input: CamInput, model: LoadedModel, pre: Preprocess): Promise<Float32Array> {
  if (input.kind === 'image') return (await loadImageTensor(input.path, pre)).data
  const arr = await readNpy(input.path)
  const want = model.inputDims(1).slice(1)
  const shape = arr.shape.length === 4 && arr.shape[0] === 1 ? arr.shape.slice(1) : arr.shape
  if (shape.length !== 3 || shape.some((d, i) => d !== want[i])) {
    const hint = model.dynamicSize ? ` (${model.file} takes any height and width: run .npy inputs of one size together, or give that input size, width x height)` : ''
    throw new ApiError(
      'invalid-arguments',
      `${basename(input.path)} has shape [${arr.shape.join(', ')}]; ${model.file} expects [1, ${want.join(', ')}] or [${want.join(', ')}]${hint}.`,
      input.path
    )
  }
  return arr.data
}

/** An input's error in the wire shape, naming the input's file when the error itself does not. */
export function inputError(input: { path: string }, err: unknown): ApiErrorShape {
  const error = toErrorShape(err)
  return { ...error, file: error.file ?? input.path }
}
