import { ApiError } from '../../../shared/errors'
import { batchNormOf, type FewshotConfig } from '../../../shared/fewshot'
import { Adam } from '../train/adam'
import { readParams, type ParamStore } from '../train/params'
import { materialiseEpisode, type EpisodeBatch } from './data/batch'
import type { FewshotDataset } from './data/dataset'
import type { Episode } from './data/episodes'
import { METHODS, type MethodDef } from './methods'
import type { Net } from './net'
import { EpisodeRunner, type EpisodeOutcome } from './runner'
import { inferenceNet, RunningStats } from './running-stats'

export interface LearnerOptions {
  /** The network meta-training runs on (fine-tune: with a head over every meta-training class). */
  net: Net
  /** The N-way network tests run on, when it differs (fine-tune); it shares the body's weight names. */
  testNet?: Net
  config: FewshotConfig
  threads?: number
}

export interface IterationResult {
  iteration: number
  loss: number
  accuracy: number
  /** Support loss before and after the inner steps (mean over the meta-batch); empty without inner steps. */
  supportLoss: number[]
}

export interface Evaluation {
  accuracy: number
  ci95: number
  episodes: number
  accuracies: number[]
}

/** Mean and 95% interval (1.96 standard errors, population std) of per-episode accuracies. */
export function summarize(accuracies: number[]): Evaluation {
  const n = accuracies.length
  const mean = accuracies.reduce((s, v) => s + v, 0) / Math.max(1, n)
  const variance = accuracies.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, n)
  return { accuracy: mean, ci95: n ? (1.96 * Math.sqrt(variance)) / Math.sqrt(n) : 0, episodes: n, accuracies }
}

/**
 * Meta-training state of one method on one network: the meta-parameters (and Meta-SGD's rates), Adam,
 * and the compiled training and test graphs (built on first use, for the configuration's episode
 * sizes). One iteration = one Adam step on the mean of the meta-batch's episode losses.
 */
export class MetaLearner {
  readonly method: MethodDef
  readonly params: ParamStore
  readonly rates: ParamStore | null
  readonly adam: Adam
  /** BatchNorm running statistics, tracked under the 'running' convention (null: batch statistics throughout). */
  readonly stats: RunningStats | null
  iteration = 0
  private trainRunner: EpisodeRunner | null = null
  private testRunner: EpisodeRunner | null = null
  /** The statistics' version the test graph was built with (it holds them as constants). */
  private testStatsVersion = -1

  constructor(readonly opts: LearnerOptions) {
    this.method = METHODS[opts.config.method]
    const names = this.method.metaParams(opts.net)
    this.params = readParams(opts.net.model, names)
    this.rates = this.method.learnedRates
      ? new Map(names.map((p) => [p, { dims: this.params.get(p)!.dims, data: new Float32Array(this.params.get(p)!.data.length).fill(opts.config.innerRate) }]))
      : null
    this.adam = new Adam([...this.tensors()].map((t) => t.length), { lr: opts.config.metaRate })
    const running = batchNormOf(opts.config) === 'running'
    if (running && !this.method.trainingImages) {
      throw new ApiError(
        'invalid-arguments',
        `${opts.config.method} adapts through inner steps, each another forward pass; it trains and tests with batch statistics only (batchNorm "batch").`,
        undefined,
        { field: 'batchNorm', constraint: 'inner-loop', value: 'running', method: opts.config.method }
      )
    }
    this.stats = running ? new RunningStats(opts.net, names.filter((p) => !opts.net.headParams.includes(p)), opts.threads) : null
  }

  /** Every tensor Adam updates, in a fixed order: parameters, then rates. */
  private tensors(): Float32Array[] {
    return [...this.params.values(), ...(this.rates?.values() ?? [])].map((v) => v.data)
  }

  get provider(): string {
    return this.trainRunner?.provider ?? this.testRunner?.provider ?? 'cpu'
  }

  private async runner(kind: 'train' | 'test', batch: EpisodeBatch): Promise<EpisodeRunner> {
    const c = this.opts.config
    if (kind === 'test' && this.testRunner && this.stats && this.testStatsVersion !== this.stats.version) {
      await this.testRunner.release()
      this.testRunner = null
    }
    const existing = kind === 'train' ? this.trainRunner : this.testRunner
    if (existing) return existing
    const net = kind === 'test' ? this.testNet() : this.opts.net
    const graph = await this.method.graph({
      net,
      jointBatch: kind === 'train' && !!this.stats,
      order: kind === 'train' ? this.method.order : 'none',
      ways: batch.ways,
      supportBatch: batch.supportLabels.length,
      queryBatch: batch.queryLabels.length,
      steps: kind === 'train' ? (this.method.supervised ? 0 : c.trainSteps) : c.testSteps,
      alpha: c.innerRate
    })
    const runner = await EpisodeRunner.create(graph, `${c.method} ${kind} graph`, this.opts.threads)
    if (kind === 'train') this.trainRunner = runner
    else {
      this.testRunner = runner
      this.testStatsVersion = this.stats?.version ?? -1
    }
    return runner
  }

  /** The network tests run on: under the running convention, with BatchNorm in inference mode on the tracked statistics. */
  testNet(): Net {
    const net = this.opts.testNet ?? this.opts.net
    return this.stats ? inferenceNet(net, this.stats.values) : net
  }

  /** Compiles the training graph for batches shaped like `batch` (so a benchmark times only the steps). */
  async prepare(batch: EpisodeBatch): Promise<void> {
    await this.runner('train', batch)
  }

  /** One meta-iteration over `batches` (the meta-batch; fine-tune: one supervised batch as the query set). */
  async step(batches: EpisodeBatch[]): Promise<IterationResult> {
    const runner = await this.runner('train', batches[0])
    const sums = this.tensors().map((t) => new Float32Array(t.length))
    let loss = 0
    let accuracy = 0
    let support: number[] = []
    for (const batch of batches) {
      // The statistics of this forward pass, at the weights it runs with (before this iteration's step).
      if (this.stats) {
        const { images, count } = this.method.trainingImages!(batch)
        await this.stats.update(this.params, images, count)
      }
      const out = await runner.run(batch, this.params, this.rates ?? undefined)
      ;[...out.grads, ...out.rateGrads].forEach((g, i) => {
        const s = sums[i]
        for (let j = 0; j < g.length; j++) s[j] += g[j]
      })
      loss += out.queryLoss
      accuracy += out.queryAccuracy
      support = out.supportLosses.length ? [out.supportLosses[0], out.supportLosses[out.supportLosses.length - 1]].map((v, i) => v + (support[i] ?? 0)) : []
    }
    const n = batches.length
    for (const s of sums) for (let j = 0; j < s.length; j++) s[j] /= n
    this.adam.step(this.tensors(), sums)
    this.iteration++
    return { iteration: this.iteration, loss: loss / n, accuracy: accuracy / n, supportLoss: support.map((v) => v / n) }
  }

  /** Adapts to each test episode from the current weights and scores its query set. */
  async evaluateEpisode(batch: EpisodeBatch): Promise<EpisodeOutcome> {
    const runner = await this.runner('test', batch)
    return runner.run(batch, this.params, this.rates ?? undefined)
  }

  /** Scores test episodes of `set` one by one (images are read per episode, so memory stays small). */
  async evaluate(set: FewshotDataset, episodes: Episode[], o: { onEpisode?: (done: number, total: number) => void; throwIfCancelled?: () => void } = {}): Promise<Evaluation> {
    const accuracies: number[] = []
    for (const e of episodes) {
      o.throwIfCancelled?.()
      accuracies.push((await this.evaluateEpisode(materialiseEpisode(set, e))).queryAccuracy)
      o.onEpisode?.(accuracies.length, episodes.length)
    }
    return summarize(accuracies)
  }

  async release(): Promise<void> {
    await this.trainRunner?.release()
    await this.testRunner?.release()
    await this.stats?.release()
    this.trainRunner = this.testRunner = null
  }
}
