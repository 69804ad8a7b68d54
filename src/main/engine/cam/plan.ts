import { basename, extname } from 'node:path'
import { ATTRIBUTION_DEFAULTS } from '../../../shared/api'
import { ApiError } from '../../../shared/errors'
import type { Preprocess } from '../data/preprocess-spec'
import type { LoadedModel } from '../model/loaded-model'
import { inputError, loadInput, modelForInputs, modelPreprocess } from '../model/inputs'
import type { BaselineKind } from './pixel/baselines'
import { seededSources, type PixelSources } from './pixel/sources'
import { camMethod, type CamMethod } from './methods'
import { CamRunner } from './runner'

/** What a CAM run is asked for: cam.run's arguments past the model and the images (the CLI's flags parse into the same). */
export interface CamRunOptions {
  method: CamMethod
  layer: string
  target: string | number
  normalization?: Preprocess['normalization']
  resize?: Preprocess['resize']
  channelOrder?: Preprocess['channelOrder']
  size?: { width: number; height: number }
  threads?: number
  /** The pixel attributions' parameters (AttributionFields); defaults as the API's. */
  steps?: number
  integration?: 'gausslegendre' | 'trapezoid'
  baseline?: BaselineKind
  baselineImage?: string
  samples?: number
  noise?: number
  seed?: number
  /** Tests: baselines or noise handed in (the reference's own tensors) instead of seeded ones. */
  sources?: Partial<PixelSources>
}

export interface CamPlan {
  /** The model as it runs: at the chosen size (or the .npy inputs' size) when its height/width are open. */
  model: LoadedModel
  /** A class index, or -1 for each image's top-1. */
  target: number
  runner: CamRunner
  preprocess: Preprocess
}

/**
 * Everything a CAM run checks and builds before its first image, for the service's cam.run and the
 * CLI's `cam` alike, so a mistake (a layer, a target, a size) is the same error in both, before any work.
 * The caller releases `runner`.
 */
export async function planCam(opened: LoadedModel, paths: string[], o: CamRunOptions): Promise<CamPlan> {
  const tensors = paths.filter((p) => extname(p).toLowerCase() === '.npy').map((p) => ({ path: p, kind: 'tensor' as const }))
  const model = await modelForInputs(opened, tensors, o.size ? [o.size.height, o.size.width] : undefined)
  const target = model.resolveTarget(o.target)
  const preprocess = modelPreprocess(model, {
    ...(o.normalization ? { normalization: o.normalization } : {}),
    ...(o.resize ? { resize: o.resize } : {}),
    ...(o.channelOrder ? { channelOrder: o.channelOrder } : {})
  })
  const pixel = camMethod(o.method).kind === 'pixel' ? await pixelOptions(model, preprocess, o) : undefined
  // Last: the runner holds an onnxruntime session, released by the caller.
  const runner = await CamRunner.create(model, { method: o.method, layer: o.layer, threads: o.threads, pixel })
  return { model, target, runner, preprocess }
}

/** A pixel attribution's parameters and seeded sources; a chosen baseline picture is loaded (and checked) here, before any work. */
async function pixelOptions(model: LoadedModel, preprocess: Preprocess, o: CamRunOptions) {
  const D = ATTRIBUTION_DEFAULTS
  const baseline = o.baseline ?? D.baseline
  let baselineImage: Float32Array | undefined
  if (baseline === 'image') {
    if (!o.baselineImage) throw new ApiError('invalid-arguments', 'baseline "image" needs baselineImage: the picture the path starts from.', undefined, { field: 'baselineImage' })
    const kind = extname(o.baselineImage).toLowerCase() === '.npy' ? ('tensor' as const) : ('image' as const)
    try {
      baselineImage = await loadInput({ path: o.baselineImage, kind, stem: basename(o.baselineImage) }, model, preprocess)
    } catch (err) {
      const e = inputError({ path: o.baselineImage }, err)
      throw new ApiError('invalid-arguments', `The baseline image ${o.baselineImage} cannot be used: ${e.message}`, o.baselineImage, { field: 'baselineImage' })
    }
  }
  const seeded = seededSources({ baseline, baselineImage, seed: o.seed ?? D.seed, preprocess, chw: model.inputChw, layout: model.layout })
  return {
    params: { steps: o.steps ?? D.steps, integration: o.integration ?? D.integration, samples: o.samples ?? D.samples, noise: o.noise ?? D.noise },
    sources: { ...seeded, ...o.sources }
  }
}
