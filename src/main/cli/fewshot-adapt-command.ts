import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { writeFileAtomic } from '../engine/files/safe-write'
import { prepareOutputDir } from '../engine/files/output-dir'
import { ADAPT_METHODS, adaptModel, DEFAULT_INNER_RATE, DEFAULT_STEPS, type AdaptMethod } from '../engine/fewshot/adapt/adapt'
import { predictionsJson } from '../engine/fewshot/adapt/report'
import { writeAdaptedModel } from '../engine/fewshot/adapt/write'
import { positiveInt } from './cam-command'

export const ADAPT_USAGE = `fewshot adapt --model M.onnx --support DIR --query DIR --out DIR [--method ${ADAPT_METHODS.join('|')}]
      [--steps ${DEFAULT_STEPS}] [--inner-rate ${DEFAULT_INNER_RATE}] [--head NODE] [--threads N]
            adapt an imported classifier to the classes of DIR's sub-folders (one folder per class, the
            same in --support and --query); writes DIR/model.onnx and DIR/predictions.json and prints
            one JSON line: method, classes, accuracy before/after, ms, backend`

/**
 * `fewshot adapt ...`: returns the exit code; prints one JSON summary line on stdout, progress and
 * warnings on stderr. Errors are thrown as ApiError for the caller to print.
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
  let steps = DEFAULT_STEPS
  if (v.steps !== undefined) {
    steps = Number(v.steps)
    if (!Number.isInteger(steps) || steps < 0) throw new ApiError('invalid-arguments', `--steps must be a whole number, 0 or more (got "${v.steps}").`)
  }
  let innerRate = DEFAULT_INNER_RATE
  if (v['inner-rate'] !== undefined) {
    innerRate = Number(v['inner-rate'])
    if (!Number.isFinite(innerRate) || innerRate <= 0) throw new ApiError('invalid-arguments', `--inner-rate must be a positive number (got "${v['inner-rate']}").`)
  }
  const out = await prepareOutputDir(v.out!, '--out')
  const result = await adaptModel({
    modelPath: resolve(v.model!),
    supportDir: resolve(v.support!),
    queryDir: resolve(v.query!),
    method: (v.method ?? 'protomaml') as AdaptMethod,
    steps,
    innerRate,
    head: v.head,
    threads: v.threads ? positiveInt(v.threads, 'threads', 1) : undefined,
    onProgress: (p) => {
      if (p.stage === 'embeddings') process.stderr.write(`embedding ${p.done}/${p.total} images\n`)
    }
  })
  for (const w of result.warnings) process.stderr.write(`warning: ${w.message}\n`)
  const modelOut = join(out, 'model.onnx')
  await writeAdaptedModel(modelOut, result)
  await writeFileAtomic(join(out, 'predictions.json'), JSON.stringify(predictionsJson(result, modelOut), null, 2) + '\n')
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
    model: modelOut,
    predictions: join(out, 'predictions.json')
  }
  process.stdout.write(JSON.stringify(summary) + '\n')
  return 0
}
