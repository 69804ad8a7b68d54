import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { ApiError } from '../../../shared/errors'
import { CamRunner } from '../cam/runner'
import type { CamMethod } from '../cam/methods'
import { LoadedModel } from '../model/loaded-model'
import { graphOf } from '../onnx/model-file'
import { decodeTensor, encodeTensor, DataType } from '../onnx/tensor-data'
import { gaussian, mulberry32 } from './pixels'
import { spearman, ssim } from './similarity'
import { releaseScratch, scratchDir } from '../scratch-dir'

/**
 * The model-parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"):
 * re-initialise the weights layer by layer from the top (cascading), recompute the maps after each
 * step and compare them with the original ones. A map that stays the same although the weights that
 * produced the prediction are gone does not explain the model (an edge detector passes for one).
 */

/** What makes maps for a batch of inputs on a given model (a CAM method, or a test's broken method). */
export interface MapMaker {
  name: string
  create(model: LoadedModel): Promise<{ maps(inputs: Float32Array[], targets: number[]): Promise<Float32Array[]>; release(): Promise<void> }>
}

/** A CAM method at a fixed layer (the tensor `auto` resolved to on the original model). */
export function camMaker(method: CamMethod, layer: string): MapMaker {
  return {
    name: method,
    async create(model) {
      const runner = await CamRunner.create(model, { method, layer })
      const per = model.dynamicBatch ? Infinity : model.fixedBatch
      return {
        async maps(inputs, targets) {
          const out: Float32Array[] = []
          for (let s = 0; s < inputs.length; s += Number.isFinite(per) ? per : inputs.length) {
            const chunk = inputs.slice(s, s + (Number.isFinite(per) ? per : inputs.length))
            const t = targets.slice(s, s + chunk.length)
            const padded = Number.isFinite(per) ? Array.from({ length: per }, (_, i) => chunk[Math.min(i, chunk.length - 1)]) : chunk
            const tp = Number.isFinite(per) ? Array.from({ length: per }, (_, i) => t[Math.min(i, t.length - 1)]) : t
            const maps = await runner.run(padded, tp)
            for (let i = 0; i < chunk.length; i++) out.push(maps[i].map.slice())
          }
          return out
        },
        release: () => runner.release()
      }
    }
  }
}

/** The weighted layers, top (output side) first, with the initializers each step re-draws. */
export function cascadeLayers(model: LoadedModel): { layer: string; weights: string[] }[] {
  const inits = model.index.initializerNames
  const floatInit = new Set(graphOf(model.model).initializer.filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name ?? ''))
  const layers: { layer: string; weights: string[] }[] = []
  for (const n of model.index.nodes) {
    if (!['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization'].includes(n.opType)) continue
    // BatchNormalization: scale and bias; its running statistics stay (a random variance could be negative).
    const candidates = n.opType === 'BatchNormalization' ? n.inputs.slice(1, 3) : n.inputs
    const weights = candidates.filter((i) => inits.has(i) && floatInit.has(i))
    if (weights.length) layers.push({ layer: n.outputs[0] || n.name, weights })
  }
  if (!layers.length) {
    throw new ApiError('unsupported', `${model.file} keeps no layer weights as initializers, so the randomisation check cannot re-draw them.`, model.path)
  }
  return layers.reverse()
}

/**
 * Which cascade depths to evaluate: at most `steps`, evenly spread, the last randomising every layer.
 * With two steps or more the first re-draws the top (class) layer alone, whatever the spread: the
 * class-layer verdict (classLayerVerdict) reads that step.
 */
export function cascadeCuts(layers: number, steps: number): number[] {
  const n = Math.min(layers, steps)
  const cuts = Array.from({ length: n }, (_, i) => Math.max(1, Math.round(((i + 1) * layers) / n)))
  if (n >= 2) cuts[0] = 1
  return cuts
}

export interface SanityOutcome {
  steps: { layer: string; layersRandomised: number }[]
  /** [maker][step][image] */
  spearman: Record<string, number[][]>
  ssim: Record<string, number[][]>
}

/**
 * Runs the cascade over `inputs` for every maker. Each re-drawn weight gets normal values with the
 * original tensor's standard deviation (its scale kept, its content destroyed), from a seeded generator.
 */
export async function runSanity(opts: {
  model: LoadedModel
  inputs: Float32Array[]
  /** The original model's class per input: maps are for the same class after randomisation. */
  targets: number[]
  makers: MapMaker[]
  steps: number
  seed: number
  throwIfCancelled?: () => void
  onStep?: (done: number, total: number, layer: string) => void
}): Promise<SanityOutcome> {
  const { model, inputs, targets, makers } = opts
  const [, H, W] = model.inputChw
  const layers = cascadeLayers(model)
  const cuts = cascadeCuts(layers.length, opts.steps)
  // One image per run: an image's maps then do not depend on which others share its batch (onnxruntime
  // may pick other kernels for other batch sizes), so a shard computes exactly what a whole run does.
  const mapsOf = async (r: Awaited<ReturnType<MapMaker['create']>>) => {
    const out: Float32Array[] = []
    for (let i = 0; i < inputs.length; i++) out.push(...(await r.maps([inputs[i]], [targets[i]])))
    return out
  }
  const original = new Map<string, Float32Array[]>()
  for (const mk of makers) {
    const r = await mk.create(model)
    try {
      original.set(mk.name, await mapsOf(r))
    } finally {
      await r.release()
    }
  }
  const proto = onnx.ModelProto.decode(model.bytes)
  const initIndex = new Map(graphOf(proto).initializer.map((t, i) => [t.name ?? '', i]))
  const rand = gaussian(mulberry32(opts.seed ^ 0xada8e))
  // A scratch folder: removed below, on exit, or by the next engine after a crash.
  const dir = scratchDir('sanity')
  const out: SanityOutcome = { steps: [], spearman: {}, ssim: {} }
  for (const mk of makers) {
    out.spearman[mk.name] = []
    out.ssim[mk.name] = []
  }
  try {
    let randomised = 0
    for (const [s, cut] of cuts.entries()) {
      opts.throwIfCancelled?.()
      for (; randomised < cut; randomised++) {
        for (const name of layers[randomised].weights) {
          const i = initIndex.get(name)!
          const t = decodeTensor(graphOf(proto).initializer[i])
          const data = t.data as Float32Array
          let mean = 0
          for (const v of data) mean += v
          mean /= data.length
          let varSum = 0
          for (const v of data) varSum += (v - mean) ** 2
          const std = Math.sqrt(varSum / data.length) || 0.01
          graphOf(proto).initializer[i] = encodeTensor(name, { dataType: t.dataType, dims: t.dims, data: Float32Array.from(data, () => std * rand()) })
        }
      }
      const file = join(dir, `step${s}.onnx`)
      await writeFile(file, onnx.ModelProto.encode(proto).finish())
      // At the size the audit runs (a dynamic-size model was sized for it), not the file's default.
      const randomModel = await LoadedModel.open(file, model.labels, model.dynamicSize ? { size: [H, W] } : undefined)
      out.steps.push({ layer: layers[cut - 1].layer, layersRandomised: cut })
      for (const mk of makers) {
        const r = await mk.create(randomModel)
        try {
          const maps = await mapsOf(r)
          const orig = original.get(mk.name)!
          out.spearman[mk.name].push(maps.map((m, i) => spearman(orig[i], m)))
          out.ssim[mk.name].push(maps.map((m, i) => ssim(orig[i], m, H, W)))
        } finally {
          await r.release()
        }
      }
      opts.onStep?.(s + 1, cuts.length, layers[cut - 1].layer)
    }
  } finally {
    releaseScratch(dir)
  }
  return out
}

/**
 * Flagged: after every layer is re-drawn, the maps still agree with the originals (mean Spearman
 * >= 0.5 or mean SSIM >= 0.8), i.e. they do not depend on what the model learned.
 */
export function sanityVerdict(spearmanLast: number, ssimLast: number): { flagged: boolean; reason: string } {
  const flagged = spearmanLast >= 0.5 || ssimLast >= 0.8
  const reason = `with every layer randomised the maps keep Spearman ${spearmanLast.toFixed(2)} and SSIM ${ssimLast.toFixed(2)} to the originals${flagged ? ': they do not depend on the learned weights' : ''}`
  return { flagged, reason }
}

/** At or above this mean Spearman to the trained model's maps, with only the class layer re-drawn, a method is flagged. */
export const CLASS_LAYER_SPEARMAN = 0.8

/**
 * Flagged: with only the top (class) layer re-drawn, the cascade's first step, the maps keep a mean
 * Spearman rank correlation >= 0.8 to the originals (Adebayo et al. 2018's test). The layer that turns
 * the features into the class decision is gone, yet the map hardly moved: it cannot be explaining that
 * decision. The every-layer verdict cannot see this for pixel maps, whose Spearman to the originals
 * stays near 0.5 with every layer re-drawn because the image's own structure shows through any network.
 */
export function classLayerVerdict(spearmanFirst: number): { flagged: boolean; reason: string } {
  const flagged = spearmanFirst >= CLASS_LAYER_SPEARMAN
  const reason = `with only the class layer randomised the maps keep Spearman ${spearmanFirst.toFixed(2)} to the originals${flagged ? `, at least ${CLASS_LAYER_SPEARMAN}: they hardly depend on the layer that decides the class` : ''}`
  return { flagged, reason }
}
