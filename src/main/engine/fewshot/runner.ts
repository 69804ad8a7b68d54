import { floatTensor, OrtSession, type Feeds } from '../exec/ort'
import type { ParamStore } from '../train/params'
import { oneHot } from './data/batch'
import type { EpisodeBatch } from './data/batch'
import type { EpisodeGraph } from './episode-graph'
import { paramOfRate, QUERY, QUERY_LABELS, SUPPORT, SUPPORT_LABELS } from './unroll'

export interface EpisodeOutcome {
  queryLoss: number
  queryAccuracy: number
  /** Predicted episode label of each query image. */
  predictions: Int32Array
  queryLogits: Float32Array
  supportLosses: number[]
  grads: Float32Array[]
  rateGrads: Float32Array[]
  /** Adapted inner-loop weights by parameter name (test-time graphs only). */
  adapted: Map<string, Float32Array>
}

/** Index of the largest score in each row of [rows, cols]. */
export function argmaxRows(scores: Float32Array, cols: number): Int32Array {
  const rows = scores.length / cols
  const out = new Int32Array(rows)
  for (let r = 0; r < rows; r++) {
    let best = 0
    for (let c = 1; c < cols; c++) if (scores[r * cols + c] > scores[r * cols + best]) best = c
    out[r] = best
  }
  return out
}

/** One compiled episode graph in one onnxruntime session: feed an episode and the weights, read the outcome. */
export class EpisodeRunner {
  private constructor(
    readonly graph: EpisodeGraph,
    private readonly session: OrtSession
  ) {}

  static async create(graph: EpisodeGraph, label: string, threads?: number): Promise<EpisodeRunner> {
    return new EpisodeRunner(graph, await OrtSession.create(graph.bytes, label, threads ? { intraOpThreads: threads } : {}))
  }

  get provider(): string {
    return this.session.provider
  }

  async run(batch: EpisodeBatch, params: ParamStore, rates?: ParamStore): Promise<EpisodeOutcome> {
    const [c, h, w] = batch.imageShape
    const ways = batch.ways
    const all: Feeds = {
      [SUPPORT]: floatTensor(batch.support, [batch.supportLabels.length, c, h, w]),
      [SUPPORT_LABELS]: floatTensor(oneHot(batch.supportLabels, ways), [batch.supportLabels.length, ways]),
      [QUERY]: floatTensor(batch.query, [batch.queryLabels.length, c, h, w]),
      [QUERY_LABELS]: floatTensor(oneHot(batch.queryLabels, ways), [batch.queryLabels.length, ways])
    }
    for (const p of this.graph.metaParams) {
      const v = params.get(p)!
      all[p] = floatTensor(v.data, v.dims)
    }
    for (const r of this.graph.rateInputs) {
      const v = rates!.get(paramOfRate(r))!
      all[r] = floatTensor(v.data, v.dims)
    }
    // Graphs that do not read the support set (plain training) do not declare it.
    const feeds: Feeds = {}
    for (const name of this.session.inputNames) feeds[name] = all[name]
    const out = await this.session.run(feeds)
    const g = this.graph
    const logits = out[g.queryLogits].data as Float32Array
    const predictions = argmaxRows(logits, ways)
    let correct = 0
    predictions.forEach((p, i) => (correct += p === batch.queryLabels[i] ? 1 : 0))
    return {
      queryLoss: Number((out[g.queryLoss].data as Float32Array)[0]),
      queryAccuracy: correct / predictions.length,
      predictions,
      queryLogits: logits,
      supportLosses: g.supportLosses.map((l) => Number((out[l].data as Float32Array)[0])),
      grads: g.grads.map((t) => out[t].data as Float32Array),
      rateGrads: g.rateGrads.map((t) => out[t].data as Float32Array),
      adapted: new Map([...g.adapted].map(([p, t]) => [p, (out[t] ?? feeds[t]).data as Float32Array]))
    }
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}
