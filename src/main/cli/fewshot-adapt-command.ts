import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import type { AdaptReport } from '../../shared/fewshot'
import { ADAPT_METHODS, DEFAULT_INNER_RATE, DEFAULT_STEPS } from '../engine/fewshot/adapt/settings'
import { cliService } from './service-job'

export const ADAPT_USAGE = `fewshot adapt --model M.onnx --support DIR --query DIR --out DIR [--method ${ADAPT_METHODS.join('|')}]
      [--steps ${DEFAULT_STEPS}] [--inner-rate ${DEFAULT_INNER_RATE}] [--head NODE] [--threads N]
            adapt an imported classifier to the classes of DIR's sub-folders (one folder per class, the
            same in --support and --query); writes DIR/model.onnx and DIR/predictions.json and prints
            one JSON line: method, classes, accuracy before/after, ms, backend`

/** A number flag as the API takes it: the schema (not the CLI) decides what is valid, and says so by field; text that is no number goes as text. */
const num = (s: string | undefined) => (s === undefined ? undefined : s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s)

/**
 * `fewshot adapt ...`: the app's own fewshot.adapt call, in-process (the same checks, the same files
 * written); prints one JSON summary line on stdout, progress and warnings on stderr. Errors are thrown
 * as ApiError naming the field; the caller prints them with the flag.
 */
export async function adaptCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      support: { type: 'string' },
      query: { type: 'string' },
      out: { type: 'string' },
      method: { type: 'string' },
      steps: { type: 'string' },
      'inner-rate': { type: 'string' },
      head: { type: 'string' },
      threads: { type: 'string' }
    },
    strict: true
  })
  for (const flag of ['model', 'support', 'query', 'out'] as const) {
    if (!v[flag]) throw new ApiError('invalid-arguments', `--${flag} is required.\nusage: ${ADAPT_USAGE}`)
  }
  const { job } = cliService((e) => {
    if (e.type === 'job.progress' && e.phase === 'embeddings') process.stderr.write(`embedding ${e.done}/${e.total} images\n`)
  })
  const args = {
    modelPath: v.model,
    supportDir: v.support,
    queryDir: v.query,
    out: v.out,
    ...(v.method !== undefined ? { method: v.method } : {}),
    ...(v.steps !== undefined ? { steps: num(v.steps) } : {}),
    ...(v['inner-rate'] !== undefined ? { innerRate: num(v['inner-rate']) } : {}),
    ...(v.head !== undefined ? { head: v.head } : {}),
    ...(v.threads !== undefined ? { threads: num(v.threads) } : {})
  }
  const result = (await job('fewshot.adapt', args)) as AdaptReport
  for (const w of result.warnings) process.stderr.write(`warning: ${w.message}\n`)
  const summary = {
    method: result.method,
    steps: result.steps,
    innerRate: result.innerRate,
    classes: result.classes,
    queries: result.predictions.length,
    accuracyBefore: result.accuracyBefore,
    accuracyAfter: result.accuracyAfter,
    ms: { embeddings: Math.round(result.ms.embeddings * 10) / 10, adaptation: Math.round(result.ms.adaptation * 10) / 10 },
    embeddings: result.embeddings,
    backend: 'onnxruntime',
    provider: result.provider,
    model: result.adaptedModel,
    predictions: join(dirname(result.adaptedModel), 'predictions.json')
  }
  process.stdout.write(JSON.stringify(summary) + '\n')
  return 0
}
