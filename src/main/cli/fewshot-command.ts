import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { FEWSHOT_METHOD_NAMES, FewshotConfig, type FewshotMethod } from '../../shared/fewshot'
import { runFewshotBench } from '../engine/fewshot/bench'
import { fashionMnistDataset } from '../engine/fewshot/data/fashion-mnist'
import { parseClassSpec } from '../engine/fewshot/data/episodes'
import { METHODS } from '../engine/fewshot/methods'
import { oneOf, positiveInt } from './cam-command'
import { ADAPT_USAGE, adaptCommand } from './fewshot-adapt-command'

export const FEWSHOT_USAGE = `fewshot bench --dataset fashion-mnist --train-classes 0-4 --test-classes 5-9 [--ways 5] [--shots K]
      [--queries 15] [--episodes 600] [--method ${FEWSHOT_METHOD_NAMES.join('|')}] [--iterations N]
      [--seed S] [--train-rotations 4] [--train-steps 5] [--test-steps 10] [--inner-rate 0.1]
      [--meta-batch 4] [--meta-rate 0.001] [--threads N] [--baseline] [--episodes-out F] [--init-out F]
            meta-train the built-in Conv-4, print one JSON line: method, ways, shots, iterations,
            accuracy, ci95, ms_per_iteration, backend
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
  throw new ApiError('invalid-arguments', `unknown fewshot command "${what ?? ''}"; try: fewshot bench --dataset fashion-mnist ...`)
}

async function benchCommand(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      dataset: { type: 'string', default: 'fashion-mnist' },
      'train-classes': { type: 'string', default: '0-4' },
      'test-classes': { type: 'string', default: '5-9' },
      ways: { type: 'string' },
      shots: { type: 'string' },
      queries: { type: 'string' },
      episodes: { type: 'string' },
      method: { type: 'string' },
      iterations: { type: 'string' },
      seed: { type: 'string' },
      'train-rotations': { type: 'string' },
      'train-steps': { type: 'string' },
      'test-steps': { type: 'string' },
      'inner-rate': { type: 'string' },
      'meta-batch': { type: 'string' },
      'meta-rate': { type: 'string' },
      threads: { type: 'string' },
      baseline: { type: 'boolean', default: false },
      'episodes-out': { type: 'string' },
      'init-out': { type: 'string' }
    },
    strict: true
  })
  if (v.dataset !== 'fashion-mnist') throw new ApiError('invalid-arguments', `--dataset must be fashion-mnist (got "${v.dataset}").`)
  const config = FewshotConfig.parse({
    method: oneOf<FewshotMethod>(v.method, FEWSHOT_METHOD_NAMES, 'method', 'protonet'),
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
  const dataset = await fashionMnistDataset()
  const iterations = nonNegativeInt(v.iterations, 'iterations', 1000)
  const started = Date.now()
  const result = await runFewshotBench({
    dataset,
    config,
    trainClasses: parseClassSpec(v['train-classes']!, dataset.classes.length),
    testClasses: parseClassSpec(v['test-classes']!, dataset.classes.length),
    rotations: positiveInt(v['train-rotations'], 'train-rotations', 1),
    iterations,
    episodes: positiveInt(v.episodes, 'episodes', 600),
    threads: v.threads ? positiveInt(v.threads, 'threads', 2) : undefined,
    baseline: v.baseline,
    episodesOut: v['episodes-out'] ? resolve(v['episodes-out']) : undefined,
    initOut: v['init-out'] ? resolve(v['init-out']) : undefined,
    onIteration: (r) => {
      if (r.iteration % 50 === 0 || r.iteration === iterations) {
        process.stderr.write(`iteration ${r.iteration}/${iterations} loss ${r.loss.toFixed(4)} accuracy ${r.accuracy.toFixed(3)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
      }
    }
  })
  process.stdout.write(JSON.stringify(result) + '\n')
  return 0
}
