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
}

export interface AdaptedHead {
  adapted: HeadWeights
  /** Support loss before each inner step (empty without steps). */
  supportLoss: number[]
  /** Inner steps actually taken: 0 for a closed-form head (ProtoNet's prototypes), whatever steps were asked for. */
  steps: number
  provider: string
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

async function runSteps(spec: AdaptHeadSpec, graphMethod: FewshotMethodId, init: HeadWeights): Promise<AdaptedHead> {
  const { method, steps } = spec
  const ways = spec.classes.length
  const f = spec.features.width
  const net = featuresHeadNet(f, init)
  const graph = await METHODS[graphMethod].graph({
    net,
    order: 'none',
    steps,
    alpha: spec.innerRate,
    ways,
    supportBatch: spec.support.length,
    queryBatch: spec.query.length
  })
  const runner = await EpisodeRunner.create(graph, `${method} head adaptation`, spec.threads)
  try {
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
    const params = readParams(net.model, METHODS[graphMethod].metaParams(net))
    const out = await runner.run(batch, params)
    const w = out.adapted.get(HEAD_WEIGHT)
    const b = out.adapted.get(HEAD_BIAS)
    if (!w || !b) throw new ApiError('internal', `The ${method} graph returned no adapted head.`)
    const adapted = { weight: Float32Array.from(w), bias: Float32Array.from(b) }
    if (!adapted.weight.every(Number.isFinite) || !adapted.bias.every(Number.isFinite)) {
      throw new ApiError(
        'out-of-range',
        `Adapting the head with ${method} diverged (support loss ${out.supportLosses.map((l) => l.toPrecision(3)).join(' -> ')}); use a smaller inner learning rate than ${spec.innerRate} or fewer steps.`
      )
    }
    return { adapted, supportLoss: out.supportLosses, steps, provider: runner.provider }
  } finally {
    await runner.release()
  }
}

/** Stacks feature rows into one [rows * F] buffer. */
function stack(rows: Float32Array[], f: number): Float32Array {
  const out = new Float32Array(rows.length * f)
  rows.forEach((r, i) => out.set(r.subarray(0, f), i * f))
  return out
}
