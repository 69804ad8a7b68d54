import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { z } from 'zod'
import type { JobEvent } from '../../shared/events'
import { AdaptArgs, EvaluateArgs, FEWSHOT_METHOD_NAMES, FewshotConfig, FewshotDatasetSpec, MetaTrainArgs, type MetaTrainItem } from '../../shared/fewshot'
import { parseWith } from '../../shared/validate'
import { runFewshotBench } from '../engine/fewshot/bench'
import { openFewshotDataset } from '../engine/fewshot/data/open'
import type { IterationResult } from '../engine/fewshot/learner'
import { parseClassSpec } from '../engine/fewshot/data/episodes'
import { METHODS } from '../engine/fewshot/methods'
import { FEWSHOT_METHOD_CATALOGUE } from '../../shared/registry/fewshot-methods'
import { given, num } from './flags'
import { cliService } from './service-job'
import { ADAPT_USAGE, adaptCommand } from './fewshot-adapt-command'
import { FEATURES_USAGE, featuresCommand } from './fewshot-features-command'
import { ADAPTER_USAGE, adapterCommand } from './fewshot-adapter-command'

export const FEWSHOT_USAGE = `fewshot bench --dataset fashion-mnist --train-classes 0-4 --test-classes 5-9 [--ways 5] [--shots K]
      [--queries 15] [--episodes 600] [--method ${FEWSHOT_METHOD_NAMES.join('|')}] [--iterations N]
      [--seed S] [--train-rotations 4] [--train-steps 5] [--test-steps 10] [--inner-rate 0.1]
      [--meta-batch 4] [--meta-rate 0.001] [--batch-norm batch|running] [--threads N] [--baseline]
      [--episodes-out F] [--init-out F] [--log-every 50]
            meta-train the built-in Conv-4, print one JSON line: method, ways, shots, iterations,
            accuracy, ci95, ms_per_iteration, backend
            --batch-norm: batch = every forward pass normalises with its own batch, at test time too (MAML's
            convention, the default of the inner-loop methods); running = train in batch mode tracking running
            statistics, test in inference mode (the default of ${FEWSHOT_METHOD_CATALOGUE.filter((m) => m.batchNorm === 'running').map((m) => m.id).join(' and ')}, as their authors ran them)
  fewshot metatrain --train-classes 0-4 --test-classes 5-9 --iterations N --checkpoint F [--out M.onnx]
      [--dataset fashion-mnist | --folder DIR [--size 84] [--channels 3] | --idx-images F --idx-labels F]
      [--resume] [--eval-episodes 100]
      [--checkpoint-every 50] [--log-every 50] [--method M] [--ways/--shots/--queries/... as for bench]
            meta-train the built-in Conv-4, checkpointing as it goes (--resume continues the checkpoint);
            writes the network with its meta-learned weights; prints one JSON line
  fewshot evaluate --checkpoint F --test-classes 5-9 [--episodes 600] [--dataset fashion-mnist | --folder DIR]
            score a checkpoint on test episodes; prints one JSON line: accuracy, ci95, episodes
  ${ADAPT_USAGE}
  ${FEATURES_USAGE}
  ${ADAPTER_USAGE}
methods: ${FEWSHOT_METHOD_NAMES.map((m) => `\n  ${m.padEnd(10)} ${METHODS[m].summary}`).join('')}`

export async function fewshotCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv
  if (what === 'bench') return benchCommand(rest)
  if (what === 'adapt') return adaptCommand(rest)
  if (what === 'features') return featuresCommand(rest)
  if (what === 'adapter') return adapterCommand(rest)
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
  'batch-norm': { type: 'string' },
  threads: { type: 'string' }
} as const

/** The hyper-parameter flags as FewshotConfig takes them; its schema holds the defaults (docs/fewshot.md). */
function configFlags(v: Partial<Record<keyof typeof CONFIG_OPTIONS, string>>, method = v.method) {
  return given({
    method,
    ways: num(v.ways),
    shots: num(v.shots),
    queries: num(v.queries),
    trainSteps: num(v['train-steps']),
    testSteps: num(v['test-steps']),
    innerRate: num(v['inner-rate']),
    metaBatch: num(v['meta-batch']),
    metaRate: num(v['meta-rate']),
    seed: num(v.seed),
    batchNorm: v['batch-norm']
  })
}

/** The CLI's own options: how often a progress line is printed. */
const LogEvery = z.object({ logEvery: z.number().int().min(1).default(50) })

/** `fewshot bench`: meta-training's rotations, evaluation's episodes (as the API takes them); 0 iterations scores the initialisation. */
const BenchOptions = LogEvery.extend({
  rotations: MetaTrainArgs.shape.rotations,
  iterations: z.number().int().min(0).max(1_000_000).default(1000),
  episodes: EvaluateArgs.shape.episodes,
  threads: AdaptArgs.shape.threads
})

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

/** The data set flags as FewshotDatasetSpec (the schema checks sizes and channels). */
function datasetSpec(v: { dataset?: string; folder?: string; size?: string; channels?: string; 'idx-images'?: string; 'idx-labels'?: string }): FewshotDatasetSpec {
  if (v['idx-images'] || v['idx-labels']) {
    if (!v['idx-images'] || !v['idx-labels']) throw new ApiError('invalid-arguments', '--idx-images and --idx-labels go together (an idx image file and its label file).')
    return { kind: 'idx', images: resolve(v['idx-images']), labels: resolve(v['idx-labels']) }
  }
  if (v.folder) return parseWith(FewshotDatasetSpec, given({ kind: 'folder', dir: resolve(v.folder), size: num(v.size), channels: num(v.channels) }), 'data set')
  if (v.dataset !== 'fashion-mnist') throw new ApiError('invalid-arguments', `--dataset must be fashion-mnist, or give --folder DIR (got "${v.dataset}").`)
  return { kind: 'fashion-mnist' }
}

/** fewshot.metaTrain's items, printed as iterations go. */
function printIterations(total: () => number, every: number): (e: JobEvent) => void {
  let print: ((r: MetaTrainItem) => void) | null = null
  return (e) => {
    if (e.type !== 'job.item') return
    print ??= progressPrinter(total(), every)
    print(e.item as MetaTrainItem)
  }
}

/** `fewshot metatrain`: the app's fewshot.metaTrain, in-process (the same checks, checkpoints and files). */
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
  const { logEvery } = parseWith(LogEvery, given({ logEvery: num(v['log-every']) }), 'log interval')
  const call = parseWith(
    MetaTrainArgs,
    given({
      dataset: datasetSpec(v),
      trainClasses: v['train-classes'],
      testClasses: v['test-classes'],
      rotations: num(v['train-rotations']),
      config: configFlags(v),
      iterations: num(v.iterations),
      checkpoint: v.checkpoint,
      checkpointEvery: num(v['checkpoint-every']),
      resume: v.resume,
      modelOut: v.out,
      evalEpisodes: num(v['eval-episodes']),
      threads: num(v.threads)
    }),
    'meta-training settings'
  )
  const { job } = cliService(printIterations(() => call.iterations, logEvery))
  const { history, ...rest } = (await job('fewshot.metaTrain', call)) as { history: { loss: number }[] }
  process.stdout.write(JSON.stringify({ ...rest, lastLoss: history.at(-1)?.loss ?? null }) + '\n')
  return 0
}

/** `fewshot evaluate`: the app's fewshot.evaluate, in-process. */
async function evaluateCommand(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: { ...DATASET_OPTIONS, checkpoint: { type: 'string' }, 'test-classes': { type: 'string', default: '5-9' }, episodes: { type: 'string' }, threads: { type: 'string' } },
    strict: true
  })
  if (!v.checkpoint) throw new ApiError('invalid-arguments', '--checkpoint FILE is required.')
  const { job } = cliService()
  const result = await job('fewshot.evaluate', given({ dataset: datasetSpec(v), checkpoint: v.checkpoint, testClasses: v['test-classes'], episodes: num(v.episodes), threads: num(v.threads) }))
  process.stdout.write(JSON.stringify(result) + '\n')
  return 0
}

// Every `every` iterations and the last, the mean loss and accuracy of the iterations since the last line
// (as the PyTorch reference logs, so the two logs compare); `--log-every 1` gives the whole loss curve
// (bench/fewshot-parity.ts compares it with the PyTorch reference's, iteration by iteration).
function progressPrinter(total: number, every: number): (r: Pick<IterationResult, 'iteration' | 'loss' | 'accuracy'>) => void {
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
  // Argument mistakes first, before the data set loads. Without --method the benchmark runs ProtoNet (its reference numbers' method).
  const config = parseWith(FewshotConfig, configFlags(v, v.method ?? 'protonet'), 'few-shot settings')
  const o = parseWith(
    BenchOptions,
    given({ logEvery: num(v['log-every']), rotations: num(v['train-rotations']), iterations: num(v.iterations), episodes: num(v.episodes), threads: num(v.threads) }),
    'benchmark settings'
  )
  const dataset = await openFewshotDataset(datasetSpec(v))
  const result = await runFewshotBench({
    dataset,
    config,
    trainClasses: parseClassSpec(v['train-classes']!, dataset.classes.length),
    testClasses: parseClassSpec(v['test-classes']!, dataset.classes.length),
    rotations: o.rotations,
    iterations: o.iterations,
    episodes: o.episodes,
    threads: o.threads,
    baseline: v.baseline,
    episodesOut: v['episodes-out'] ? resolve(v['episodes-out']) : undefined,
    initOut: v['init-out'] ? resolve(v['init-out']) : undefined,
    onIteration: progressPrinter(o.iterations, o.logEvery)
  })
  process.stdout.write(JSON.stringify(result) + '\n')
  return 0
}
