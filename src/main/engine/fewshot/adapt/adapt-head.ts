import { ApiError } from '../../../../shared/errors'
import type { FewshotMethodId } from '../../../../shared/registry/fewshot-methods'
import { minOf } from '../../../../shared/stats'
import { readParams } from '../../train/params'
import type { EpisodeBatch } from '../data/batch'
import { METHODS } from '../methods'
import type { HeadAdaptSpec } from '../methods/head-plan'
import { EpisodeRunner } from '../runner'
import { classCounts } from './head-init'
import { featuresHeadNet, HEAD_BIAS, HEAD_WEIGHT, type HeadWeights } from './head-net'
import type { AdaptMethod } from './settings'

export interface AdaptHeadSpec extends HeadAdaptSpec {
  method: AdaptMethod
  innerRate: number
  query: Float32Array[]
  queryLabels: Int32Array
  threads?: number
  /** Each inner step's support loss as soon as its chunk of steps has run (the Few-shot chart draws them live). */
  onStep?: (step: number, supportLoss: number) => void
  /** Checked between chunks of steps. */
  throwIfCancelled?: () => void
}

export interface AdaptedHead {
  adapted: HeadWeights
  /** Support loss before each inner step (empty without steps). */
  supportLoss: number[]
  /** Inner steps actually taken: 0 for a closed-form head (ProtoNet's prototypes), whatever steps were asked for. */
  steps: number
  provider: string
}

/** The most runs one adaptation is split into: enough for a live curve, few enough that the per-run overhead stays small. */
export const MAX_STEP_CHUNKS = 25

/** Inner steps per run: one run per step up to MAX_STEP_CHUNKS steps, then steps / MAX_STEP_CHUNKS (rounded up). */
export function stepChunk(steps: number): number {
  return Math.max(1, Math.ceil(steps / MAX_STEP_CHUNKS))
}

/**
 * The head-only adaptation on embeddings: the method's entry in the method table plans it (a
 * closed-form head, or inner steps from a starting head), and the steps run in a method's own
 * test-time graph (order 'none'), fed the embeddings as [B, F, 1, 1] "images" of the features head net.
 */
export async function adaptHead(spec: AdaptHeadSpec): Promise<AdaptedHead> {
  const plan = METHODS[spec.method].headPlan(spec)
  if (plan.kind === 'exact') return { adapted: plan.head, supportLoss: [], steps: 0, provider: 'cpu' }
  return runSteps(spec, plan.graph, plan.init)
}

/**
 * The inner steps in chunks of stepChunk(steps): each run takes a chunk's steps in the unrolled
 * test-time graph and hands back the adapted head, which the next run starts from. Plain gradient
 * steps chain exactly, so the chunks reach the head one unrolled run of every step would; between
 * runs the chunk's losses stream out and a cancel is honoured. The first run uses the planned graph
 * (a graph that makes its own starting head, as fine-tune's zeros, does so there); later runs use
 * ANIL's, which starts from the head it is given.
 */
async function runSteps(spec: AdaptHeadSpec, graphMethod: FewshotMethodId, init: HeadWeights): Promise<AdaptedHead> {
  const { method, steps } = spec
  const ways = spec.classes.length
  const f = spec.features.width
  const chunk = stepChunk(steps)
  const batch: EpisodeBatch = {
    ways,
    shots: minOf(classCounts(spec.supportLabels, ways)),
    queries: Math.ceil(spec.query.length / ways),
    support: stack(spec.support, f),
    query: stack(spec.query, f),
    supportLabels: spec.supportLabels,
    queryLabels: spec.queryLabels,
    imageShape: [f, 1, 1]
  }
  // At most three graphs: the planned one for the first chunk, ANIL's for later chunks and for a shorter last one.
  const runners = new Map<string, EpisodeRunner>()
  const runnerFor = async (graph: FewshotMethodId, k: number): Promise<EpisodeRunner> => {
    const key = `${graph}:${k}`
    const known = runners.get(key)
    if (known) return known
    const built = await METHODS[graph].graph({ net: featuresHeadNet(f, init), order: 'none', steps: k, alpha: spec.innerRate, ways, supportBatch: spec.support.length, queryBatch: spec.query.length })
    const runner = await EpisodeRunner.create(built, `${method} head adaptation`, spec.threads)
    runners.set(key, runner)
    return runner
  }
  let head = init
  const supportLoss: number[] = []
  let provider = 'cpu'
  try {
    for (let done = 0; done < steps; ) {
      spec.throwIfCancelled?.()
      const k = Math.min(chunk, steps - done)
      const graph = done === 0 ? graphMethod : 'anil'
      const runner = await runnerFor(graph, k)
      provider = runner.provider
      const net = featuresHeadNet(f, head)
      const out = await runner.run(batch, readParams(net.model, METHODS[graph].metaParams(net)))
      const w = out.adapted.get(HEAD_WEIGHT)
      const b = out.adapted.get(HEAD_BIAS)
      if (!w || !b) throw new ApiError('internal', `The ${method} graph returned no adapted head.`)
      head = { weight: Float32Array.from(w), bias: Float32Array.from(b) }
      out.supportLosses.forEach((l, i) => {
        supportLoss.push(l)
        spec.onStep?.(done + i, l)
      })
      done += k
      // A diverged head stays diverged: stop at the chunk that broke.
      if (!head.weight.every(Number.isFinite) || !head.bias.every(Number.isFinite)) {
        throw new ApiError(
          'out-of-range',
          `Adapting the head with ${method} diverged (support loss ${supportLoss.map((l) => l.toPrecision(3)).join(' -> ')}); use a smaller inner learning rate than ${spec.innerRate} or fewer steps.`
        )
      }
    }
    return { adapted: head, supportLoss, steps, provider }
  } finally {
    for (const r of runners.values()) await r.release()
  }
}

/** Stacks feature rows into one [rows * F] buffer. */
function stack(rows: Float32Array[], f: number): Float32Array {
  const out = new Float32Array(rows.length * f)
  rows.forEach((r, i) => out.set(r.subarray(0, f), i * f))
  return out
}
