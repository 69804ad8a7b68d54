/**
 * Deeper adaptation's time budget (issue #22 item 4): the real MobileNetV2 tfjs classifier (nsfwjs,
 * fetched on demand, never committed) at 224 px with its correct preprocessing (pixel / 255), 5-way
 * 5-shot on photos, the last block fine-tuned for 50 Adam steps, through fewshot.adapt's own engine
 * path (adaptModel with depth 1).
 *
 *   node scripts/fetch-real-models.mjs nsfwjs                   # the model, into ~/.cache/metascope/real
 *   /usr/bin/python3 bench/fewshot_real_pool.py --sizes 224     # the photo folders, into ~/.cache/metascope/bench
 *   npx tsx bench/fewshot-deep.ts [--threads 2] [--dataset gcompris-224] [--depth 1] [--steps 50] [--runs 2]
 *
 * Prints, per run and setting (early stopping off: exactly 50 final steps; on: the validation run
 * on 4 shots plus the final run of the chosen length): the whole call, the frozen part (augmented
 * views and queries up to the cut), the training part (graph compilation and every step), and the
 * mean time of one final step measured between the streamed step items.
 */
import { readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { adaptModel } from '../src/main/engine/fewshot/adapt/adapt'
import type { AdaptItem } from '../src/shared/fewshot'

const { values: v } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    dataset: { type: 'string', default: 'gcompris-224' },
    depth: { type: 'string', default: '1' },
    steps: { type: 'string', default: '50' },
    runs: { type: 'string', default: '2' }
  }
})
const MODEL = join(homedir(), '.cache/metascope/real/nsfwjs/package/unpacked/mobilenet_v2/model.json')
const DATA = join(homedir(), '.cache/metascope/bench', v.dataset!)
const classes = readdirSync(DATA, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).slice(0, 5)
const sets = {
  classes: classes.map((name) => {
    const files = readdirSync(join(DATA, name)).filter((f) => f.endsWith('.png')).sort().map((f) => join(DATA, name, f))
    return { name, support: files.slice(0, 5), query: files.slice(5, 10) }
  })
}

async function main(): Promise<void> {
for (let run = 0; run < Number(v.runs); run++) {
  for (const earlyStop of [false, true]) {
    const stamps: number[] = []
    const t0 = performance.now()
    const r = await adaptModel({
      modelPath: MODEL,
      sets,
      normalization: 'unit',
      depth: Number(v.depth),
      deepSteps: Number(v.steps),
      earlyStop,
      threads: Number(v.threads),
      onStep: (item: AdaptItem) => {
        if (item.phase === 'final') stamps.push(performance.now())
      }
    })
    const total = performance.now() - t0
    const perStep = stamps.length > 1 ? (stamps[stamps.length - 1] - stamps[0]) / (stamps.length - 1) : NaN
    const d = r.deep!
    console.log(
      JSON.stringify({
        run,
        earlyStop,
        blocks: d.blocks,
        trainedParameters: d.trainedParameters,
        stepsAsked: d.stepsAsked,
        finalSteps: d.steps,
        accuracyAfter: r.accuracyAfter,
        ms: {
          call: Math.round(total),
          embeddings: Math.round(r.ms.embeddings),
          frozen: Math.round(d.ms.frozen),
          training: Math.round(d.ms.training),
          perFinalStep: Math.round(perStep * 10) / 10
        },
        provider: r.provider
      })
    )
  }
}
}

void main()
