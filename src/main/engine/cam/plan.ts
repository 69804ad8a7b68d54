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
import type { CamTarget } from './objective'
import { referenceEmbedding, resolveCamTarget, targetClass } from './targets'
import { checkOcclusion } from './methods/occlusion'
import { checkRise, riseCellSize } from './methods/rise'

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
  /** Occlusion's window and stride, RISE's masks, cell size and keep probability (pixels). */
  window?: number
  stride?: number
  masks?: number
  cellSize?: number
  keep?: number
  /** Tests: baselines or noise handed in (the reference's own tensors) instead of seeded ones. */
  sources?: Partial<PixelSources>
}

export interface CamPlan {
  /** The model as it runs: at the chosen size (or the .npy inputs' size) when its height/width are open. */
  model: LoadedModel
  /** A class index, or -1 for each image's top-1 (the class a contrast, output or region target is filed under). */
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
  const planned = resolveCamTarget(model, o.target)
  const target = targetClass(planned)
  const preprocess = modelPreprocess(model, {
    ...(o.normalization ? { normalization: o.normalization } : {}),
    ...(o.resize ? { resize: o.resize } : {}),
    ...(o.channelOrder ? { channelOrder: o.channelOrder } : {})
  })
  const module = camMethod(o.method)
  const kind = module.kind
  // Contrast, region and similarity targets exist only as a gradient's seed.
  const seedOnly = planned.kind !== 'class' && planned.kind !== 'output'
  if (seedOnly && kind !== 'gradient' && kind !== 'pixel') {
    throw new ApiError('invalid-arguments', `A ${planned.kind} target is differentiated: it needs a gradient CAM or a gradient pixel attribution, not ${o.method}.`, undefined, { field: 'target', constraint: 'method', method: o.method, value: String(o.target) })
  }
  if (module.kind === 'gradient' && module.reseed && seedOnly) {
    // FinerCAM builds its own objective from the target class and its nearest classes.
    throw new ApiError('invalid-arguments', `${o.method} explains a class against the classes nearest to it in score: its target is a class (top1, an index or a label), not a ${planned.kind}.`, undefined, { field: 'target', constraint: 'method', method: o.method, value: String(o.target) })
  }
  if (model.segmentation && kind === 'perturbation') {
    // The perturbation scorer reads [N, classes] outputs; a segmentation output is not one (yet).
    throw new ApiError('unsupported', `${o.method} reads one score per class from [N, classes] outputs; ${model.file} outputs per-pixel scores [N, C, H, W]. Use a gradient CAM or pixel attribution.`, model.path, { field: 'method', constraint: 'segmentation', method: o.method })
  }
  const camTarget: CamTarget = planned.kind === 'similarity' ? { ...planned, embedding: await referenceEmbedding(model, preprocess, planned.reference, o.threads) } : planned
  // The perturbation methods replace pixels by the same baselines as Integrated Gradients' path starts from.
  const perturbation = kind === 'perturbation' ? perturbationOptions(model, o) : undefined
  const pixel = kind === 'pixel' || kind === 'perturbation' ? await pixelOptions(model, preprocess, o) : undefined
  // Last: the runner holds an onnxruntime session, released by the caller.
  const runner = await CamRunner.create(model, { method: o.method, layer: o.layer, threads: o.threads, pixel, perturbation, target: camTarget })
  return { model, target, runner, preprocess }
}

/** A perturbation attribution's parameters, checked against the model's input size before any work. */
function perturbationOptions(model: LoadedModel, o: CamRunOptions) {
  const D = ATTRIBUTION_DEFAULTS
  const [, h, w] = model.inputChw
  const params = { window: o.window ?? D.window, stride: o.stride ?? D.stride, masks: o.masks ?? D.masks, cellSize: o.cellSize ?? riseCellSize(h, w), keep: o.keep ?? D.keep }
  if (o.method === 'occlusion') checkOcclusion(params.window, params.stride, h, w)
  if (o.method === 'rise') checkRise(params.cellSize, h, w)
  return { params, seed: o.seed ?? D.seed }
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
