import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { ADAPT_DEEP_DEFAULTS, type AdaptReport } from '../../shared/fewshot'
import { ADAPT_METHODS, DEFAULT_ADD_STEPS, DEFAULT_INNER_RATE, DEFAULT_STEPS } from '../engine/fewshot/adapt/settings'
import { given, PREPROCESS_OPTIONS, preprocessFlags, preprocessUsage } from './flags'
import { cliService } from './service-job'

export const ADAPT_USAGE = `fewshot adapt --model M.onnx --support DIR --query DIR --out DIR [--method ${ADAPT_METHODS.join('|')}]
      [--steps ${DEFAULT_STEPS}] [--inner-rate ${DEFAULT_INNER_RATE}] [--head NODE] [--features TENSOR] [--threads N]
      ${preprocessUsage('      ', "the model's metadata, else 224x224")}
            adapt an imported classifier to the classes of DIR's sub-folders (one folder per class, the
            same in --support and --query); writes DIR/model.onnx and DIR/predictions.json and prints
            one JSON line: method, classes, accuracy before/after, ms, preprocessing, features, backend;
            --features: the tensor images are embedded with (default: the automatic choice; list the
            candidates with fewshot features --model M)
      [--mode replace|add] [--old DIR]
            --mode add keeps the model's classes and adds DIR's as new ones (weight imprinting on the
            last layer's input; --steps defaults to ${DEFAULT_ADD_STEPS} there, and refines the new rows only;
            --method and --features do not apply); --old DIR: images of the model's own classes, one
            sub-folder per class named by its label, to report old-class accuracy before and after
      [--depth K] [--deep-steps ${ADAPT_DEEP_DEFAULTS.deepSteps}] [--deep-rate ${ADAPT_DEEP_DEFAULTS.deepRate}] [--augment | --no-augment] [--seed N] [--no-early-stop]
            --depth K fine-tunes the last K blocks of the body with the new head (BatchNorm frozen),
            starting from --method's head, with Adam; seeded flip/crop/colour-jitter views of the
            support images unless --no-augment; the step count is chosen on one held-out support image
            per class unless --no-early-stop (replace mode only; K beyond the model's blocks lists them)
      [--adapter A.json]
            adapt the head on the features through a feature adapter meta-trained by \`fewshot adapter\`
            (its features tensor is the default --features); the written model includes its MatMul
            (replace mode, head only)`

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
      features: { type: 'string' },
      threads: { type: 'string' },
      mode: { type: 'string' },
      old: { type: 'string' },
      depth: { type: 'string' },
      'deep-steps': { type: 'string' },
      'deep-rate': { type: 'string' },
      augment: { type: 'boolean' },
      'no-augment': { type: 'boolean' },
      seed: { type: 'string' },
      'no-early-stop': { type: 'boolean' },
      adapter: { type: 'string' },
      // As cam takes them: support and query images are embedded with this preprocessing.
      ...PREPROCESS_OPTIONS
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
    ...(v.features !== undefined ? { features: v.features } : {}),
    ...(v.threads !== undefined ? { threads: num(v.threads) } : {}),
    ...(v.mode !== undefined ? { mode: v.mode } : {}),
    ...(v.old !== undefined ? { oldDir: v.old } : {}),
    ...(v.depth !== undefined ? { depth: num(v.depth) } : {}),
    ...(v['deep-steps'] !== undefined ? { deepSteps: num(v['deep-steps']) } : {}),
    ...(v['deep-rate'] !== undefined ? { deepRate: num(v['deep-rate']) } : {}),
    ...(v.augment ? { augment: true } : v['no-augment'] ? { augment: false } : {}),
    ...(v.seed !== undefined ? { seed: num(v.seed) } : {}),
    ...(v['no-early-stop'] ? { earlyStop: false } : {}),
    ...(v.adapter !== undefined ? { adapter: v.adapter } : {}),
    ...given(preprocessFlags(v))
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
    ...addSummary(result),
    ...(result.deep ? { deep: { depth: result.deep.depth, blocks: result.deep.blocks, augment: result.deep.augment, seed: result.deep.seed, stepsAsked: result.deep.stepsAsked, steps: result.deep.steps, earlyStopped: result.deep.heldOutLoss !== null, trainedParameters: result.deep.trainedParameters, ms: { frozen: Math.round(result.deep.ms.frozen), training: Math.round(result.deep.ms.training) } } } : {}),
    ms: { embeddings: Math.round(result.ms.embeddings * 10) / 10, adaptation: Math.round(result.ms.adaptation * 10) / 10 },
    embeddings: result.embeddings,
    preprocess: result.preprocess,
    features: result.features,
    ...(result.adapter ? { adapter: { file: result.adapter.file, width: `${result.adapter.inWidth} -> ${result.adapter.outWidth}` } } : {}),
    backend: 'onnxruntime',
    provider: result.provider,
    model: result.adaptedModel,
    predictions: join(dirname(result.adaptedModel), 'predictions.json')
  }
  process.stdout.write(JSON.stringify(summary) + '\n')
  return 0
}

/** Add mode's part of the summary line: the mode, how many labels the written model has, old-class accuracy or the proxy. */
function addSummary(r: AdaptReport): Record<string, unknown> {
  const a = r.addClasses
  if (!a) return { mode: r.mode ?? 'replace' }
  return {
    mode: 'add',
    labels: a.labels.length,
    ...(a.old ? { oldImages: a.old.images, oldAccuracyBefore: a.old.accuracyBefore, oldAccuracyAfter: a.old.accuracyAfter } : {}),
    proxyKept: a.proxy.agreement
  }
}
