import { access } from 'node:fs/promises'
import { basename } from 'node:path'
import { onnx } from 'onnx-proto'
import { ApiError } from '../../../shared/errors'
import { batchNormOf, type FewshotConfig } from '../../../shared/fewshot'
import { writeFileAtomic } from '../files/safe-write'
import { graphOf } from '../onnx/model-file'
import { encodeTensor, f32 } from '../onnx/tensor-data'
import { materialiseEpisode, supervisedBatch } from './data/batch'
import type { FewshotDataset } from './data/dataset'
import { planEpisodes } from './data/episodes-file'
import { buildConv4 } from './conv4'
import { readCheckpoint, restoreCheckpoint, savedBatchNorm, saveCheckpoint, type HistoryEntry, type NetRecipe } from './checkpoint'
import { MetaLearner, type Evaluation, type IterationResult } from './learner'
import { METHODS } from './methods'
import type { Net } from './net'

export interface MetaTrainOptions {
  dataset: FewshotDataset
  trainClasses: number[]
  testClasses: number[]
  rotations?: number
  config: FewshotConfig
  iterations: number
  checkpointPath: string
  /** Save a checkpoint every this many iterations (and always at the end or on cancel). */
  checkpointEvery?: number
  /** Continue from checkpointPath when it exists. */
  resume?: boolean
  /** Also write the meta-trained network as ONNX here. */
  modelOut?: string
  /** Test episodes scored at the end (0: none). */
  evalEpisodes?: number
  threads?: number
  onIteration?: (r: IterationResult, total: number) => void
  onEvaluate?: (done: number, total: number) => void
  throwIfCancelled?: () => void
}

export interface MetaTrainResult {
  iterations: number
  resumedFrom: number | null
  history: HistoryEntry[]
  checkpoint: string
  model: string | null
  evaluation: Omit<Evaluation, 'accuracies'> | null
  provider: string
}


/**
 * Meta-trains the built-in Conv-4 on a labelled dataset's class split, checkpointing as it goes. The
 * episodes come from the seed, so iteration i draws the same episodes whether the run went straight
 * through or was cancelled and resumed. A cancel saves a checkpoint of the iterations completed and
 * then rethrows; resume continues from it.
 */
export async function runMetaTraining(o: MetaTrainOptions): Promise<MetaTrainResult> {
  const c = o.config
  const method = METHODS[c.method]
  const evalEpisodes = o.evalEpisodes ?? 0
  checkMetaTrainSetup(o)
  const plan = planFor(o, o.iterations, evalEpisodes)
  const trainWays = method.supervised ? plan.trainSet.classes.length : c.ways
  const recipe: NetRecipe = { kind: 'conv4', channels: o.dataset.channels, size: o.dataset.height, ways: trainWays, seed: c.seed }
  const task = { dataset: o.dataset.name, trainClasses: o.trainClasses, testClasses: o.testClasses, rotations: o.rotations ?? 1 }
  const net = buildConv4(recipe)
  const testNet = method.supervised ? buildConv4({ ...recipe, ways: c.ways }) : undefined
  const learner = new MetaLearner({ net, testNet, config: c, threads: o.threads })
  let history: HistoryEntry[] = []
  let resumedFrom: number | null = null
  if (o.resume && (await exists(o.checkpointPath))) {
    const cp = await readCheckpoint(o.checkpointPath)
    const file = basename(o.checkpointPath)
    if (JSON.stringify(cp.net) !== JSON.stringify(recipe)) throw new ApiError('bad-file', `${file} was saved for another network (${JSON.stringify(cp.net)}).`, o.checkpointPath)
    if (JSON.stringify(cp.task) !== JSON.stringify(task)) throw new ApiError('bad-file', `${file} was saved for another task (${JSON.stringify(cp.task)}).`, o.checkpointPath)
    restoreCheckpoint(o.checkpointPath, cp, learner)
    if (learner.iteration > o.iterations) {
      throw new ApiError('out-of-range', `${file} is already at iteration ${learner.iteration}, past the ${o.iterations} asked for.`, o.checkpointPath)
    }
    history = cp.history
    resumedFrom = learner.iteration
  }
  const save = () => saveCheckpoint(o.checkpointPath, learner, recipe, task, history)
  const every = o.checkpointEvery ?? 50
  try {
    while (learner.iteration < o.iterations) {
      o.throwIfCancelled?.()
      const i = learner.iteration
      const batches = method.supervised ? [supervisedBatch(plan.trainSet, plan.finetune[i], trainWays)] : plan.train[i].map((e) => materialiseEpisode(plan.trainSet, e))
      const r = await learner.step(batches)
      history.push({ iteration: r.iteration, loss: r.loss, accuracy: r.accuracy })
      o.onIteration?.(r, o.iterations)
      if (r.iteration % every === 0) await save()
    }
    await save()
    const model = o.modelOut ? await writeLearnedModel(o.modelOut, learner.stats ? learner.testNet() : net, learner, c) : null
    let evaluation: Omit<Evaluation, 'accuracies'> | null = null
    if (evalEpisodes > 0) {
      const { accuracies: _, ...rest } = await learner.evaluate(plan.testSet, plan.test, { onEpisode: o.onEvaluate, throwIfCancelled: o.throwIfCancelled })
      evaluation = rest
    }
    return { iterations: learner.iteration, resumedFrom, history, checkpoint: o.checkpointPath, model, evaluation, provider: learner.provider }
  } catch (err) {
    // Whatever stopped the run (cancel, a failure), keep the iterations that completed.
    if (learner.iteration > (resumedFrom ?? 0)) await save()
    throw err
  } finally {
    await learner.release()
  }
}

/** Every episode of a run on a class split, drawn from the configuration's seed. */
export function planFor(o: Pick<MetaTrainOptions, 'dataset' | 'trainClasses' | 'testClasses' | 'rotations' | 'config'>, iterations: number, testEpisodes: number) {
  const c = o.config
  return planEpisodes({
    dataset: o.dataset,
    trainClasses: o.trainClasses,
    testClasses: o.testClasses,
    rotations: o.rotations,
    ways: c.ways,
    shots: c.shots,
    queries: c.queries,
    iterations,
    metaBatch: c.metaBatch,
    testEpisodes,
    seed: c.seed,
    finetune: !!METHODS[c.method].supervised
  })
}

/** Throws the setup's problems (too few classes or images, overlapping splits) before a job starts. */
export function checkMetaTrainSetup(o: MetaTrainOptions): void {
  planFor(o, 0, 0)
  if (o.dataset.height !== o.dataset.width) throw new ApiError('unsupported', `The built-in Conv-4 takes square images; ${o.dataset.name} has ${o.dataset.height} x ${o.dataset.width}.`)
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false
  )
}

/**
 * The network with its meta-learned weights as initializers, as a plain ONNX file any tool opens. Under
 * the running convention, `net` is the inference-mode network (BatchNorm on the running statistics).
 */
async function writeLearnedModel(path: string, net: Net, learner: MetaLearner, c: FewshotConfig): Promise<string> {
  const g = graphOf(net.model)
  const initializer = g.initializer.map((t) => {
    const p = learner.params.get(t.name ?? '')
    return p ? encodeTensor(t.name!, f32(p.data, p.dims)) : t
  })
  const meta = { method: c.method, ways: c.ways, shots: c.shots, iterations: learner.iteration, seed: c.seed, batchNorm: batchNormOf(c) }
  const model = onnx.ModelProto.create({
    ...net.model,
    graph: onnx.GraphProto.create({ ...g, initializer }),
    metadataProps: [
      { key: 'metascope.normalization', value: 'unit' },
      { key: 'metascope.resize', value: 'stretch' },
      { key: 'metascope.fewshot', value: JSON.stringify(meta) }
    ]
  })
  await writeFileAtomic(path, onnx.ModelProto.encode(model).finish())
  return path
}

export interface EvaluateOptions {
  dataset: FewshotDataset
  checkpointPath: string
  testClasses: number[]
  episodes: number
  threads?: number
  onEpisode?: (done: number, total: number) => void
  throwIfCancelled?: () => void
}

/** Scores a checkpoint's weights on test episodes drawn from `testClasses` with the checkpoint's own settings. */
export async function evaluateCheckpoint(o: EvaluateOptions): Promise<Evaluation & { iteration: number; method: string; provider: string }> {
  const cp = await readCheckpoint(o.checkpointPath)
  const c = { ...cp.config, batchNorm: savedBatchNorm(cp) }
  if (o.dataset.channels !== cp.net.channels || o.dataset.height !== cp.net.size) {
    throw new ApiError('invalid-arguments', `${basename(o.checkpointPath)} takes ${cp.net.channels} x ${cp.net.size} x ${cp.net.size} images; ${o.dataset.name} has ${o.dataset.channels} x ${o.dataset.height} x ${o.dataset.width}.`, o.checkpointPath)
  }
  const trainClasses = Array.isArray(cp.task.trainClasses) ? (cp.task.trainClasses as number[]) : []
  const plan = planEpisodes({
    dataset: o.dataset,
    trainClasses: trainClasses.filter((k) => !o.testClasses.includes(k)),
    testClasses: o.testClasses,
    ways: c.ways,
    shots: c.shots,
    queries: c.queries,
    iterations: 0,
    metaBatch: c.metaBatch,
    testEpisodes: o.episodes,
    seed: c.seed,
    finetune: false
  })
  const net = buildConv4(cp.net)
  const testNet = METHODS[c.method].supervised ? buildConv4({ ...cp.net, ways: c.ways }) : undefined
  const learner = new MetaLearner({ net, testNet, config: c, threads: o.threads })
  try {
    restoreCheckpoint(o.checkpointPath, cp, learner)
    const result = await learner.evaluate(plan.testSet, plan.test, { onEpisode: o.onEpisode, throwIfCancelled: o.throwIfCancelled })
    return { ...result, iteration: cp.iteration, method: c.method, provider: learner.provider }
  } finally {
    await learner.release()
  }
}
