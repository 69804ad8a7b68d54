import { dirname } from 'node:path'
import { prepareOutputDir } from '../files/output-dir'
import { writeFileAtomic } from '../files/safe-write'
import { batchNormOf, type FewshotConfig } from '../../../shared/fewshot'
import { readParams, type ParamStore } from '../train/params'
import { materialiseEpisode, supervisedBatch } from './data/batch'
import { toEpisodesFile, type EpisodePlan } from './data/episodes-file'
import type { FewshotDataset } from './data/dataset'
import { buildConv4 } from './conv4'
import { MetaLearner, type Evaluation, type IterationResult } from './learner'
import { planFor } from './meta-train'
import { METHODS } from './methods'

export interface BenchOptions {
  dataset: FewshotDataset
  config: FewshotConfig
  trainClasses: number[]
  testClasses: number[]
  rotations: number
  iterations: number
  episodes: number
  threads?: number
  /** Also evaluate the initial weights (the random-initialisation baseline). */
  baseline?: boolean
  episodesOut?: string
  initOut?: string
  onIteration?: (r: IterationResult) => void
  onPhase?: (phase: string, done: number, total: number) => void
  throwIfCancelled?: () => void
}

export interface BenchResult {
  method: string
  ways: number
  shots: number
  iterations: number
  rotations: number
  accuracy: number
  ci95: number
  ms_per_iteration: number
  baseline: { accuracy: number; ci95: number } | null
  backend: string
  threads: number | null
  /** The BatchNorm convention the run trained and tested with. */
  batch_norm: 'batch' | 'running'
}


function paramsJson(p: ParamStore): Record<string, { dims: number[]; data: number[] }> {
  return Object.fromEntries([...p].map(([k, v]) => [k, { dims: v.dims, data: Array.from(v.data) }]))
}

/**
 * `fewshot bench`: meta-trains the built-in Conv-4 on one class split with one method, then scores
 * it on the test episodes (and, with `baseline`, the same network from its initial weights). Every
 * episode comes from the plan, which can be written out for the PyTorch reference to replay.
 */
export async function runFewshotBench(o: BenchOptions): Promise<BenchResult> {
  const c = o.config
  const method = METHODS[c.method]
  const plan: EpisodePlan = planFor(o, o.iterations, o.episodes)
  const [channels, size] = [o.dataset.channels, o.dataset.height]
  const trainWays = method.supervised ? plan.trainSet.classes.length : c.ways
  const net = buildConv4({ channels, size, ways: trainWays, seed: c.seed })
  const testNet = method.supervised ? buildConv4({ channels, size, ways: c.ways, seed: c.seed }) : undefined
  const learner = new MetaLearner({ net, testNet, config: c, threads: o.threads })
  if (o.episodesOut) await writeJson(o.episodesOut, toEpisodesFile(plan, { dataset: o.dataset, ways: c.ways, shots: c.shots, queries: c.queries }))
  // Every weight of the network (the PyTorch reference builds the same Conv-4 from them).
  if (o.initOut) await writeJson(o.initOut, paramsJson(readParams(net.model, net.params)))

  const evaluate = (phase: string): Promise<Evaluation> =>
    learner.evaluate(plan.testSet, plan.test, { onEpisode: (done, total) => o.onPhase?.(phase, done, total), throwIfCancelled: o.throwIfCancelled })
  try {
    const baseline = o.baseline ? await evaluate('baseline') : null
    let trainMs = 0
    const batchesOf = (i: number) =>
      method.supervised ? [supervisedBatch(plan.trainSet, plan.finetune[i], trainWays)] : plan.train[i].map((e) => materialiseEpisode(plan.trainSet, e))
    // Graph compilation happens once, before the clock starts (the PyTorch side has no such step).
    if (o.iterations > 0) await learner.prepare(batchesOf(0)[0])
    for (let i = 0; i < o.iterations; i++) {
      o.throwIfCancelled?.()
      const batches = batchesOf(i)
      const t0 = performance.now()
      const r = await learner.step(batches)
      trainMs += performance.now() - t0
      o.onIteration?.(r)
    }
    const result = await evaluate('test')
    return {
      method: c.method,
      ways: c.ways,
      shots: c.shots,
      iterations: o.iterations,
      rotations: o.rotations,
      accuracy: result.accuracy,
      ci95: result.ci95,
      ms_per_iteration: o.iterations ? trainMs / o.iterations : 0,
      baseline: baseline ? { accuracy: baseline.accuracy, ci95: baseline.ci95 } : null,
      backend: `onnxruntime-node (${learner.provider})`,
      threads: o.threads ?? null,
      batch_norm: batchNormOf(c)
    }
  } finally {
    await learner.release()
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await prepareOutputDir(dirname(path), 'episodes file')
  await writeFileAtomic(path, JSON.stringify(value))
}
