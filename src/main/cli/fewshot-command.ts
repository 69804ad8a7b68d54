import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { FEWSHOT_METHOD_NAMES, FewshotConfig, type FewshotMethod } from '../../shared/fewshot'
import { runFewshotBench } from '../engine/fewshot/bench'
import type { FewshotDataset } from '../engine/fewshot/data/dataset'
import { openFewshotDataset } from '../engine/fewshot/data/open'
import type { IterationResult } from '../engine/fewshot/learner'
import { evaluateCheckpoint, runMetaTraining } from '../engine/fewshot/meta-train'
import { parseClassSpec } from '../engine/fewshot/data/episodes'
import { METHODS } from '../engine/fewshot/methods'
import { oneOf, positiveInt } from './cam-command'
import { ADAPT_USAGE, adaptCommand } from './fewshot-adapt-command'

export const FEWSHOT_USAGE = `fewshot bench --dataset fashion-mnist --train-classes 0-4 --test-classes 5-9 [--ways 5] [--shots K]
      [--queries 15] [--episodes 600] [--method ${FEWSHOT_METHOD_NAMES.join('|')}] [--iterations N]
      [--seed S] [--train-rotations 4] [--train-steps 5] [--test-steps 10] [--inner-rate 0.1]
      [--meta-batch 4] [--meta-rate 0.001] [--threads N] [--baseline] [--episodes-out F] [--init-out F]
      [--log-every 50]
            meta-train the built-in Conv-4, print one JSON line: method, ways, shots, iterations,
            accuracy, ci95, ms_per_iteration, backend
  fewshot metatrain --train-classes 0-4 --test-classes 5-9 --iterations N --checkpoint F [--out M.onnx]
      [--dataset fashion-mnist | --folder DIR [--size 84] [--channels 3] | --idx-images F --idx-labels F]
      [--resume] [--eval-episodes 100]
      [--checkpoint-every 50] [--log-every 50] [--method M] [--ways/--shots/--queries/... as for bench]
            meta-train the built-in Conv-4, checkpointing as it goes (--resume continues the checkpoint);
            writes the network with its meta-learned weights; prints one JSON line
  fewshot evaluate --checkpoint F --test-classes 5-9 [--episodes 600] [--dataset fashion-mnist | --folder DIR]
            score a checkpoint on test episodes; prints one JSON line: accuracy, ci95, episodes
  ${ADAPT_USAGE}
methods: ${FEWSHOT_METHOD_NAMES.map((m) => `\n  ${m.padEnd(10)} ${METHODS[m].summary}`).join('')}`

const nonNegativeInt = (v: string | undefined, flag: string, fallback: number) => (v === '0' ? 0 : positiveInt(v, flag, fallback))

function positiveNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new ApiError('invalid-arguments', `--${flag} must be a positive number (got "${value}").`)
  return n
}

export async function fewshotCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv
  if (what === 'bench') return benchCommand(rest)
  if (what === 'adapt') return adaptCommand(rest)
  if (what === 'metatrain') return metatrainCommand(rest)
  if (what === 'evaluate') return evaluateCommand(rest)
  throw new ApiError('invalid-arguments', `unknown fewshot command "${what ?? ''}"; try: fewshot bench --dataset fashion-mnist ...`)
}

/** Options every meta-training command shares: the episode sizes and hyper-parameters of docs/fewshot.md. */
const CONFIG_OPTIONS = {
  ways: { type: 'string' },
  shots: { type: 'string' },
  queries: { type: 'string' },
  method: { type: 'string' },
  seed: { type: 'string' },
  'train-steps': { type: 'string' },
  'test-steps': { type: 'string' },
  'inner-rate': { type: 'string' },
  'meta-batch': { type: 'string' },
  'meta-rate': { type: 'string' },
  threads: { type: 'string' }
} as const

function parseConfig(v: Partial<Record<keyof typeof CONFIG_OPTIONS, string>>, fallbackMethod: FewshotMethod): FewshotConfig {
  return FewshotConfig.parse({
    method: oneOf<FewshotMethod>(v.method, FEWSHOT_METHOD_NAMES, 'method', fallbackMethod),
    ways: positiveInt(v.ways, 'ways', 5),
    shots: positiveInt(v.shots, 'shots', 1),
    queries: positiveInt(v.queries, 'queries', 15),
    trainSteps: nonNegativeInt(v['train-steps'], 'train-steps', 5),
    testSteps: nonNegativeInt(v['test-steps'], 'test-steps', 10),
    innerRate: positiveNumber(v['inner-rate'], 'inner-rate', 0.1),
    metaBatch: positiveInt(v['meta-batch'], 'meta-batch', 4),
    metaRate: positiveNumber(v['meta-rate'], 'meta-rate', 1e-3),
    seed: nonNegativeInt(v.seed, 'seed', 0)
  })
}

const DATASET_OPTIONS = {
  dataset: { type: 'string', default: 'fashion-mnist' },
  folder: { type: 'string' },
  'idx-images': { type: 'string' },
  'idx-labels': { type: 'string' },
  size: { type: 'string' },
  channels: { type: 'string' }
} as const

/** The options of a meta-training run: hyper-parameters, data, class split. */
const RUN_OPTIONS = {
  ...CONFIG_OPTIONS,
  ...DATASET_OPTIONS,
  'train-classes': { type: 'string', default: '0-4' },
  'test-classes': { type: 'string', default: '5-9' },
  'train-rotations': { type: 'string' },
  iterations: { type: 'string' },
  'log-every': { type: 'string' }
} as const

async function parseDataset(v: { dataset?: string; folder?: string; size?: string; channels?: string; 'idx-images'?: string; 'idx-labels'?: string }): Promise<FewshotDataset> {
  if (v['idx-images'] || v['idx-labels']) {
    if (!v['idx-images'] || !v['idx-labels']) throw new ApiError('invalid-arguments', '--idx-images and --idx-labels go together (an idx image file and its label file).')
    return openFewshotDataset({ kind: 'idx', images: resolve(v['idx-images']), labels: resolve(v['idx-labels']) })
  }
  if (v.folder) {
    const channels = positiveInt(v.channels, 'channels', 3)
    if (channels !== 1 && channels !== 3) throw new ApiError('invalid-arguments', `--channels must be 1 or 3 (got ${channels}).`)
    return openFewshotDataset({ kind: 'folder', dir: resolve(v.folder), size: positiveInt(v.size, 'size', 84), channels })
  }
  if (v.dataset !== 'fashion-mnist') throw new ApiError('invalid-arguments', `--dataset must be fashion-mnist, or give --folder DIR (got "${v.dataset}").`)
  return openFewshotDataset({ kind: 'fashion-mnist' })
}

const threadsOf = (v: { threads?: string }) => (v.threads ? positiveInt(v.threads, 'threads', 2) : undefined)

async function metatrainCommand(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      ...RUN_OPTIONS,
      checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean', default: false },
      out: { type: 'string' },
      'eval-episodes': { type: 'string' }
    },
    strict: true
  })
  if (!v.checkpoint) throw new ApiError('invalid-arguments', '--checkpoint FILE is required (where the run is saved, and resumed from).')
  // Argument mistakes first, before the dataset loads.
  const logEvery = positiveInt(v['log-every'], 'log-every', 50)
  const dataset = await parseDataset(v)
  const iterations = positiveInt(v.iterations, 'iterations', 1000)
  const result = await runMetaTraining({
    dataset,
    trainClasses: parseClassSpec(v['train-classes']!, dataset.classes.length),
    testClasses: parseClassSpec(v['test-classes']!, dataset.classes.length),
    rotations: positiveInt(v['train-rotations'], 'train-rotations', 1),
    config: parseConfig(v, 'protomaml'),
    iterations,
    checkpointPath: resolve(v.checkpoint),
    checkpointEvery: positiveInt(v['checkpoint-every'], 'checkpoint-every', 50),
    resume: v.resume,
    modelOut: v.out ? resolve(v.out) : undefined,
    evalEpisodes: nonNegativeInt(v['eval-episodes'], 'eval-episodes', 100),
    threads: threadsOf(v),
    onIteration: progressPrinter(iterations, logEvery)
  })
  const { history, ...rest } = result
  process.stdout.write(JSON.stringify({ ...rest, lastLoss: history.at(-1)?.loss ?? null, backend: `onnxruntime-node (${result.provider})` }) + '\n')
  return 0
}

async function evaluateCommand(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: { ...DATASET_OPTIONS, checkpoint: { type: 'string' }, 'test-classes': { type: 'string', default: '5-9' }, episodes: { type: 'string' }, threads: { type: 'string' } },
    strict: true
  })
  if (!v.checkpoint) throw new ApiError('invalid-arguments', '--checkpoint FILE is required.')
  const dataset = await parseDataset(v)
  const { accuracies: _, ...result } = await evaluateCheckpoint({
    dataset,
    checkpointPath: resolve(v.checkpoint),
    testClasses: parseClassSpec(v['test-classes']!, dataset.classes.length),
    episodes: positiveInt(v.episodes, 'episodes', 600),
    threads: threadsOf(v)
  })
  process.stdout.write(JSON.stringify({ ...result, backend: `onnxruntime-node (${result.provider})` }) + '\n')
  return 0
}

// Every `every` iterations and the last, the mean loss and accuracy of the iterations since the last line
// (as the PyTorch reference logs, so the two logs compare); `--log-every 1` gives the whole loss curve
// (bench/fewshot-parity.ts compares it with the PyTorch reference's, iteration by iteration).
function progressPrinter(total: number, every: number): (r: IterationResult) => void {
  const started = Date.now()
  let [loss, accuracy, n] = [0, 0, 0]
  return (r) => {
    ;[loss, accuracy, n] = [loss + r.loss, accuracy + r.accuracy, n + 1]
    if (r.iteration % every !== 0 && r.iteration !== total) return
    process.stderr.write(`iteration ${r.iteration}/${total} loss ${(loss / n).toFixed(4)} accuracy ${(accuracy / n).toFixed(3)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
    ;[loss, accuracy, n] = [0, 0, 0]
  }
}

async function benchCommand(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      ...RUN_OPTIONS,
      episodes: { type: 'string' },
      baseline: { type: 'boolean', default: false },
      'episodes-out': { type: 'string' },
      'init-out': { type: 'string' }
    },
    strict: true
  })
  // Argument mistakes first, before the dataset loads.
  const logEvery = positiveInt(v['log-every'], 'log-every', 50)
  const dataset = await parseDataset(v)
  const iterations = nonNegativeInt(v.iterations, 'iterations', 1000)
  const result = await runFewshotBench({
    dataset,
    config: parseConfig(v, 'protonet'),
    trainClasses: parseClassSpec(v['train-classes']!, dataset.classes.length),
    testClasses: parseClassSpec(v['test-classes']!, dataset.classes.length),
    rotations: positiveInt(v['train-rotations'], 'train-rotations', 1),
    iterations,
    episodes: positiveInt(v.episodes, 'episodes', 600),
    threads: threadsOf(v),
    baseline: v.baseline,
    episodesOut: v['episodes-out'] ? resolve(v['episodes-out']) : undefined,
    initOut: v['init-out'] ? resolve(v['init-out']) : undefined,
    onIteration: progressPrinter(iterations, logEvery)
  })
  process.stdout.write(JSON.stringify(result) + '\n')
  return 0
}
