import { extname } from 'node:path'
import type { Preprocess } from '../data/preprocess-spec'
import type { LoadedModel } from '../model/loaded-model'
import { modelForInputs, modelPreprocess } from '../model/inputs'
import type { CamMethod } from './methods'
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
  // Last: the runner holds an onnxruntime session, released by the caller.
  const runner = await CamRunner.create(model, { method: o.method, layer: o.layer, threads: o.threads })
  return { model, target, runner, preprocess }
}
