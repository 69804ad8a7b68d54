import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import type { FeatureCandidate, FeaturesResult, FeatureSuggestion } from '../../shared/fewshot-features'
import { maxOf } from '../../shared/stats'
import { given, num, PREPROCESS_OPTIONS, preprocessFlags, preprocessUsage } from './flags'
import { cliService } from './service-job'

export const FEATURES_USAGE = `fewshot features --model M [--head NODE] [--support DIR] [--threads N] [--json]
      ${preprocessUsage('      ', "the model's metadata, else 224x224")}
            list the tensors \`fewshot adapt --features\` can embed images with (name, width, the layer
            each follows), the automatic choice marked; with --support (one sub-folder per class, 2+
            images each) also rank them by leave-one-out nearest-centroid accuracy on those images.
            Nothing is applied. --json prints one JSON line instead of the table`

/** One candidate as a table row: name, width, kind, the layer it follows, and its marks. */
function row(c: FeatureCandidate, width: number, score?: string): string {
  const marks = [c.auto ? 'automatic' : '', c.headInput ? "the last layer's input" : ''].filter(Boolean).join(', ')
  const after = c.follows ? `after ${c.follows.op} ${c.follows.node}` : 'a graph input'
  return `  ${score ? `${score.padStart(6)}  ` : ''}${c.tensor.padEnd(width)}  ${String(c.width).padStart(5)}  ${c.kind.padEnd(11)}  ${after}${marks ? `  [${marks}]` : ''}`
}

/**
 * `fewshot features ...`: the app's fewshot.features call (and fewshot.suggestFeatures with
 * --support), in-process. The automatic choice is Metascope's rule, printed as "automatic".
 */
export async function featuresCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      head: { type: 'string' },
      support: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
      ...PREPROCESS_OPTIONS
    },
    strict: true
  })
  if (!v.model) throw new ApiError('invalid-arguments', `--model is required.\nusage: ${FEATURES_USAGE}`)
  const { call, job } = cliService((e) => {
    if (e.type === 'job.progress' && e.phase === 'embeddings') process.stderr.write(`embedding ${e.done}/${e.total} images\n`)
  })
  const pre = given(preprocessFlags(v))
  // With --support the ranking job lists the candidates too: the model is opened once.
  const suggestion = v.support
    ? ((await job('fewshot.suggestFeatures', given({ modelPath: v.model, head: v.head, supportDir: v.support, threads: num(v.threads), ...pre }))) as FeatureSuggestion)
    : null
  const listed: FeaturesResult = suggestion ?? ((await call('fewshot.features', given({ modelPath: v.model, head: v.head, size: pre.size }))) as FeaturesResult)
  if (v.json) {
    process.stdout.write(JSON.stringify(suggestion ?? listed) + '\n')
    return 0
  }
  const h = listed.head
  const lines = [`${basename(listed.model)}: last linear layer ${h.node} (${h.op}, ${h.width} -> ${h.classes} classes)`]
  const width = maxOf(listed.candidates.map((c) => c.tensor.length))
  lines.push('feature tensors, from the backbone to the head (automatic: the pooled features feeding the first Dense layer, else the last layer\'s input):')
  lines.push(...listed.candidates.map((c) => row(c, width)))
  if (suggestion) {
    lines.push(
      `ranked by leave-one-out nearest-centroid accuracy on ${suggestion.images} support images (${suggestion.classes.length} classes, each image classified by the class means of the others):`
    )
    lines.push(...suggestion.ranking.map((s) => row(s, width, `${(s.accuracy * 100).toFixed(1)}%`)))
    lines.push(`best: --features ${suggestion.ranking[0].tensor}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  return 0
}
