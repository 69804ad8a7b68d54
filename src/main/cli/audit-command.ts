import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { AUDIT_CAM_METHODS, AUDIT_METRICS, AuditSettings } from '../../shared/audit'
import { CamRunSettings } from '../../shared/api'
import { ApiError } from '../../shared/errors'
import { parseWith } from '../../shared/validate'
import { mergeAuditFiles, readAuditFile } from '../engine/audit/merge'
import { writeAudit } from '../engine/audit/report-data'
import { planAudit } from '../engine/audit/plan'
import { runAudit } from '../engine/audit/run-audit'
import { given, listOf, num, sizeFlag } from './flags'

export const AUDIT_USAGE = `audit --model M.onnx --images DIR --out DIR [--methods ${AUDIT_CAM_METHODS.join(',')}] [--metrics ${AUDIT_METRICS.join(',')}]
      [--shard K/N] [--layer auto|NAME] [--labels F] [--baseline blur|mean] [--steps 20] [--road 10,30,50,70,90]
      [--sanity-images 4] [--sanity-steps 8] [--clusters 4] [--bins 15] [--worst 8] [--batch 8] [--seed 0]
      [--boxes F.json] [--folder-classes FOLDER=INDEX,...] [--normalization imagenet|unit|symmetric|raw] [--resize stretch|center-crop]
      [--channel-order rgb|bgr] [--size WxH (models with dynamic height/width)] [--threads N]
            faithfulness, sanity, calibration and where-it-looks over a folder (labels = sub-folder names);
            writes report.html, audit.json and CSVs to --out; prints one JSON line (the summary's headline)
  audit merge DIR... --out DIR
            merge the output folders of all K/N shards into one report`

/** `--folder-classes cat=0,dog=1` as the API's { cat: 0, dog: 1 } (the schema checks the numbers). */
function folderClasses(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  return Object.fromEntries(
    text.split(',').map((pair) => {
      const eq = pair.lastIndexOf('=')
      if (eq <= 0) throw new ApiError('invalid-arguments', `--folder-classes takes FOLDER=INDEX pairs separated by commas (got "${pair}").`)
      return [pair.slice(0, eq).trim(), num(pair.slice(eq + 1))]
    })
  )
}

export async function auditCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'merge') return mergeCommand(argv.slice(1))
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      images: { type: 'string' },
      out: { type: 'string' },
      labels: { type: 'string' },
      methods: { type: 'string' },
      metrics: { type: 'string' },
      shard: { type: 'string' },
      layer: { type: 'string' },
      baseline: { type: 'string' },
      steps: { type: 'string' },
      road: { type: 'string' },
      'road-noise': { type: 'string' },
      'sanity-images': { type: 'string' },
      'sanity-steps': { type: 'string' },
      clusters: { type: 'string' },
      bins: { type: 'string' },
      worst: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      boxes: { type: 'string' },
      'folder-classes': { type: 'string' },
      normalization: { type: 'string' },
      resize: { type: 'string' },
      'channel-order': { type: 'string' },
      size: { type: 'string' },
      threads: { type: 'string' }
    },
    strict: true
  })
  if (!v.model) throw new ApiError('invalid-arguments', '--model M.onnx is required.')
  if (!v.images) throw new ApiError('invalid-arguments', '--images DIR is required (a folder; one sub-folder per class for labels).')
  if (!v.out) throw new ApiError('invalid-arguments', '--out DIR is required.')
  // Flags go to the API's schema as given (numbers as numbers): it decides what is valid and names the field.
  const settings = parseWith(
    AuditSettings,
    given({
      methods: listOf(v.methods),
      metrics: listOf(v.metrics),
      layer: v.layer,
      baseline: v.baseline,
      steps: num(v.steps),
      roadPercentiles: listOf(v.road)?.map(num),
      roadNoise: num(v['road-noise']),
      sanityImages: num(v['sanity-images']),
      sanitySteps: num(v['sanity-steps']),
      clusters: num(v.clusters),
      bins: num(v.bins),
      worst: num(v.worst),
      batch: num(v.batch),
      seed: num(v.seed),
      normalization: v.normalization,
      resize: v.resize,
      channelOrder: v['channel-order'],
      size: sizeFlag(v.size)
    }),
    'audit settings'
  )
  const plan = await planAudit({
    modelPath: v.model,
    labelsPath: v.labels,
    imagesDir: v.images,
    out: v.out,
    settings,
    shard: v.shard,
    boxesPath: v.boxes,
    folderClasses: folderClasses(v['folder-classes'])
  })
  // onnxruntime's threads, as cam.run takes them (the audit's job runs in this process).
  const { threads } = parseWith(CamRunSettings.pick({ threads: true }), given({ threads: num(v.threads) }), 'threads')
  const tty = process.stderr.isTTY
  const file = await runAudit(plan, {
    threads,
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r${p.phase} ${p.done}/${p.total}   `)
      else if (p.phase !== 'computing' || p.done === p.total || p.done % 100 < plan.args.settings.batch) process.stderr.write(`${p.phase} ${p.done}/${p.total}\n`)
    }
  })
  const written = await writeAudit(file, v.out)
  process.stderr.write(tty ? '\rreport 1/1   \n' : 'report 1/1\n')
  process.stdout.write(JSON.stringify(headline(file, written.report)) + '\n')
  process.stderr.write(`${file.summary.images} image(s) audited${file.summary.failed ? `, ${file.summary.failed} failed` : ''}; report in ${written.report}\n`)
  return file.summary.failed ? 1 : 0
}

function headline(file: Awaited<ReturnType<typeof runAudit>>, report: string) {
  const s = file.summary
  return {
    report,
    shard: file.shard,
    images: s.images,
    failed: s.failed,
    methods: s.methods.map((m) => ({ method: m.method, rank: m.rank, deletion: m.deletion, insertion: m.insertion, roadGap: m.roadGap, confidenceChange: m.confidenceChange, sanityFlagged: m.sanityFlagged, sanityFlaggedBy: m.sanityFlaggedBy, sanityClassLayer: m.sanityClassLayer })),
    accuracy: s.calibration?.accuracy ?? null,
    ece: s.calibration?.ece ?? null
  }
}

async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true, strict: true })
  if (!values.out) throw new ApiError('invalid-arguments', 'audit merge needs --out DIR.')
  if (!positionals.length) throw new ApiError('invalid-arguments', 'audit merge needs the shard output folders: audit merge DIR... --out DIR.')
  const parts = await Promise.all(positionals.map(async (dir) => ({ dir: resolve(dir), file: await readAuditFile(dir) })))
  const merged = mergeAuditFiles(parts)
  const written = await writeAudit(merged, values.out)
  process.stdout.write(JSON.stringify(headline(merged, written.report)) + '\n')
  process.stderr.write(`merged ${parts.length} shard(s), ${merged.images.length} image(s); report in ${written.report}\n`)
  return 0
}
