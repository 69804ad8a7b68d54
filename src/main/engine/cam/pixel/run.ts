import { floatTensor, int64Tensor, type OrtSession } from '../../exec/ort'
import type { LoadedModel } from '../../model/loaded-model'
import type { PixelMethodModule, PixelParams } from '../methods/base'
import type { InputGradientGraph } from './graph'
import { TARGET_INPUT } from '../graph'
import type { PixelSources } from './sources'

export interface PixelRun {
  session: OrtSession
  graph: InputGradientGraph
  module: PixelMethodModule
  params: PixelParams
  sources: PixelSources
  /** Path or noise points per onnxruntime run. */
  pointBatch: number
  /** A warning every result of the run carries (Guided Backprop on a model without Relu). */
  warning?: string
}

export interface PixelOutcome {
  scores: Float32Array
  /** What each image's map differentiates (the target's score, or a contrast, region sum, similarity). */
  objective: Float32Array
  /** A segmentation model's predicted masks [B, H, W]. */
  mask?: { data: BigInt64Array; h: number; w: number }
  output: Float32Array
  targets: number[]
  attributions: { attribution: Float32Array; map: Float32Array; completeness?: { error: number; delta: number } }[]
}

/**
 * Runs a pixel attribution over a batch: one run gives every image's scores, target and gradient at
 * the image (all Saliency and Input x Gradient need); a method that needs more points (a path, noisy
 * copies) gets them through `gradients`, run in chunks of `pointBatch` with the image's target.
 */
export async function runPixel(r: PixelRun, m: LoadedModel, batch: Float32Array, targets: number[], throwIfCancelled?: () => void, onStep?: (image: number, done: number, total: number) => void): Promise<PixelOutcome> {
  const n = targets.length
  const per = batch.length / n
  const g = r.graph
  const fetches = r.module.imageGradient === false ? [...new Set([g.logits, g.scores, g.objective, g.target, ...(g.mask ? [g.mask] : [])])] : undefined
  const out = await r.session.run({ [m.inputName]: floatTensor(batch, m.inputDims(n)), [TARGET_INPUT]: int64Tensor(targets) }, fetches)
  const scores = out[r.graph.scores].data as Float32Array
  const objective = out[r.graph.objective].data as Float32Array
  const output = out[r.graph.logits].data as Float32Array
  const wanted = Array.from(out[r.graph.target].data as BigInt64Array, Number)
  const grad = fetches ? new Float32Array(0) : (out[r.graph.gradient].data as Float32Array)
  const camT = r.graph.cam ? out[r.graph.cam] : null
  const [, , camH, camW] = (camT?.dims ?? [0, 0, 0, 0]) as number[]
  const attributions: PixelOutcome['attributions'] = []
  for (let i = 0; i < n; i++) {
    throwIfCancelled?.()
    const input = batch.subarray(i * per, (i + 1) * per)
    const target = wanted[i]
    attributions.push(
      await r.module.attribute({
        input,
        chw: m.inputChw,
        layout: m.layout,
        gradient: grad.subarray(i * per, (i + 1) * per),
        score: objective[i],
        gradients: (points) => gradientsAt(r, m, points, target, throwIfCancelled, onStep && ((done, total) => onStep(i, done, total))),
        params: r.params,
        baseline: () => r.sources.baseline(input),
        noise: (k, sigma) => r.sources.noise(input, k, sigma),
        throwIfCancelled,
        ...(camT ? { cam: { raw: (camT.data as Float32Array).subarray(i * camH * camW, (i + 1) * camH * camW), h: camH, w: camW } } : {})
      })
    )
  }
  const maskT = r.graph.mask ? out[r.graph.mask] : null
  const mask = maskT ? { data: maskT.data as BigInt64Array, h: maskT.dims[1] as number, w: maskT.dims[2] as number } : undefined
  return { scores, objective, output, targets: wanted, attributions, ...(mask ? { mask } : {}) }
}

/** The target score's gradient at each point, `pointBatch` points per run (padded for a fixed-batch model). */
async function gradientsAt(r: PixelRun, m: LoadedModel, points: Float32Array[], target: number, throwIfCancelled?: () => void, onStep?: (done: number, total: number) => void): Promise<{ grads: Float32Array[]; scores: Float64Array }> {
  const per = m.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
  const size = m.dynamicBatch ? Math.max(1, r.pointBatch) : m.fixedBatch
  const grads: Float32Array[] = []
  const scores = new Float64Array(points.length)
  onStep?.(0, points.length)
  for (let start = 0; start < points.length; start += size) {
    throwIfCancelled?.()
    const count = Math.min(size, points.length - start)
    const runSize = m.dynamicBatch ? count : m.fixedBatch
    const data = new Float32Array(runSize * per)
    for (let j = 0; j < runSize; j++) data.set(points[start + Math.min(j, count - 1)], j * per)
    const out = await r.session.run({ [m.inputName]: floatTensor(data, m.inputDims(runSize)), [TARGET_INPUT]: int64Tensor(new Array(runSize).fill(target)) })
    const g = out[r.graph.gradient].data as Float32Array
    const s = out[r.graph.objective].data as Float32Array
    for (let j = 0; j < count; j++) {
      grads.push(g.slice(j * per, (j + 1) * per))
      scores[start + j] = s[j]
    }
    onStep?.(start + count, points.length)
  }
  return { grads, scores }
}
