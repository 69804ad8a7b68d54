import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { AdapterArgs, type AdapterResult } from '../../shared/fewshot-adapter'
import { ADAPT_DEFAULTS } from '../../shared/fewshot'
import { given, num, PREPROCESS_OPTIONS, preprocessFlags, preprocessUsage } from './flags'
import { cliService } from './service-job'

const D = AdapterArgs.parse({ modelPath: 'm', folder: 'f', out: 'o' })

export const ADAPTER_USAGE = `fewshot adapter --model M --folder DIR --out A.json [--features TENSOR] [--width F']
      [--ways ${D.ways}] [--shots ${D.shots}] [--queries ${D.queries}] [--iterations ${D.iterations}] [--meta-batch ${D.metaBatch}] [--meta-rate ${D.metaRate}]
      [--inner-steps ${ADAPT_DEFAULTS.steps}] [--inner-rate ${ADAPT_DEFAULTS.innerRate}] [--order first|second] [--seed ${D.seed}] [--head NODE] [--threads N]
      ${preprocessUsage('      ', "the model's metadata, else 224x224")}
            meta-train a feature adapter: a linear map A (F x F', the identity when F' = F, else a seeded
            random projection) on the model's frozen features, with seeded N-way K-shot episodes drawn from
            DIR (one sub-folder per class, many classes), each adapted as \`fewshot adapt\` adapts (Proto-MAML
            from the tempered prototypes, --inner-steps steps at --inner-rate) and scored on its queries; Adam
            on A (--order first: the inner increments held fixed, the gradient through the prototypes and the
            queries). Writes A.json; use it with \`fewshot adapt ... --adapter A.json\`. Prints one JSON line`

/**
 * `fewshot adapter ...`: the app's fewshot.adapter job, in-process; progress on stderr, one JSON
 * summary line on stdout. The API's schema checks every value and names the field.
 */
export async function adapterCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      folder: { type: 'string' },
      out: { type: 'string' },
      features: { type: 'string' },
      width: { type: 'string' },
      ways: { type: 'string' },
      shots: { type: 'string' },
      queries: { type: 'string' },
      iterations: { type: 'string' },
      'meta-batch': { type: 'string' },
      'meta-rate': { type: 'string' },
      'inner-steps': { type: 'string' },
      'inner-rate': { type: 'string' },
      order: { type: 'string' },
      seed: { type: 'string' },
      head: { type: 'string' },
      threads: { type: 'string' },
      ...PREPROCESS_OPTIONS
    },
    strict: true
  })
  for (const flag of ['model', 'folder', 'out'] as const) {
    if (!v[flag]) throw new ApiError('invalid-arguments', `--${flag} is required.\nusage: ${ADAPTER_USAGE}`)
  }
  let every = 1
  const { job } = cliService((e) => {
    if (e.type !== 'job.progress') return
    if (e.phase === 'embeddings') process.stderr.write(`embedding ${e.done}/${e.total} images\n`)
    else if (e.phase === 'compiling' && e.done === e.total) process.stderr.write('episode graph compiled\n')
    else if (e.phase === 'meta-training') {
      every = Math.max(1, Math.floor(e.total / 20))
      if (e.done % every === 0 || e.done === e.total) process.stderr.write(`iteration ${e.done}/${e.total}: ${e.message ?? ''}\n`)
    }
  })
  const args = given({
    modelPath: v.model,
    folder: v.folder,
    out: v.out,
    features: v.features,
    width: num(v.width),
    ways: num(v.ways),
    shots: num(v.shots),
    queries: num(v.queries),
    iterations: num(v.iterations),
    metaBatch: num(v['meta-batch']),
    metaRate: num(v['meta-rate']),
    innerSteps: num(v['inner-steps']),
    innerRate: num(v['inner-rate']),
    order: v.order,
    seed: num(v.seed),
    head: v.head,
    threads: num(v.threads),
    ...preprocessFlags(v)
  })
  const r = (await job('fewshot.adapter', args)) as AdapterResult
  for (const w of r.warnings) process.stderr.write(`warning: ${w.message}\n`)
  const summary = {
    adapter: r.file,
    features: r.tensor,
    width: `${r.inWidth} -> ${r.outWidth}`,
    classes: r.training.classes.length,
    images: r.training.images,
    iterations: r.training.iterations,
    order: r.training.order,
    start: r.start,
    end: r.end,
    relativeChange: r.relativeChange,
    ms: { embeddings: Math.round(r.ms.embeddings), compile: Math.round(r.ms.compile), training: Math.round(r.ms.training) },
    embeddings: r.embeddings
  }
  process.stdout.write(JSON.stringify(summary) + '\n')
  return 0
}
