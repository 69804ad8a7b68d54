import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { z } from 'zod'
import { AuditArgs, type AuditProgress, type AuditImage } from '../../../shared/audit'
import { ApiError } from '../../../shared/errors'
import { AUDIT_METRIC_CATALOGUE } from '../../../shared/registry/audit-metrics'
import { modelForInputs, modelPreprocess } from '../model/inputs'
import type { Preprocess } from '../data/preprocess-spec'
import { LoadedModel } from '../model/loaded-model'
import { readLabelsFile } from '../onnx/summary'
import { listAuditDataset, type AuditDataset, type AuditInput } from './dataset'
import { parseShard, shardOf, type Shard } from './shard'

export type ParsedAuditArgs = z.output<typeof AuditArgs>
type Box = [number, number, number, number]

/** Everything checked before any computing starts, so mistakes come back at once (a call error, a CLI usage error). */
export interface AuditPlan {
  args: ParsedAuditArgs
  model: LoadedModel
  preprocess: Preprocess
  dataset: AuditDataset
  shard: Shard | null
  inputs: AuditInput[]
  boxes: Map<string, Box> | null
}

export async function planAudit(raw: unknown): Promise<AuditPlan> {
  const parsed = AuditArgs.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ApiError('invalid-arguments', `Audit settings: ${issue.path.join('.') || 'arguments'} ${issue.message}.`)
  }
  const args = parsed.data
  const shard = args.shard ? parseShard(args.shard) : null
  const labels = args.labelsPath ? await readLabelsFile(resolve(args.labelsPath)) : null
  const s = args.settings
  // The same choices cam.run takes: a size for a dynamic-size model, the channel order for BGR ones.
  const model = await modelForInputs((await LoadedModel.open(resolve(args.modelPath), labels)).requireImageClassifier('the audit'), [], s.size ? [s.size.height, s.size.width] : undefined)
  const preprocess = modelPreprocess(model, {
    ...(s.normalization ? { normalization: s.normalization } : {}),
    ...(s.resize ? { resize: s.resize } : {}),
    ...(s.channelOrder ? { channelOrder: s.channelOrder } : {})
  })
  // A metric that needs labels (calibration) makes an unlabelled folder an error rather than an empty section.
  const needsLabels = AUDIT_METRIC_CATALOGUE.some((m) => m.needsLabels && s.metrics.includes(m.id))
  const dataset = await listAuditDataset(args.imagesDir, model, needsLabels, args.folderClasses)
  const boxes = args.boxesPath ? await readBoxes(resolve(args.boxesPath)) : null
  return { args, model, preprocess, dataset, shard, inputs: shardOf(dataset.inputs, shard), boxes }
}

async function readBoxes(file: string): Promise<Map<string, Box>> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new ApiError('bad-file', `The boxes file ${file} is not readable JSON: ${(err as Error).message}`, file)
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ApiError('bad-file', `The boxes file ${file} must be a JSON object: { "class/image.png": [x0, y0, x1, y1], ... }.`, file)
  const out = new Map<string, Box>()
  for (const [path, box] of Object.entries(raw)) {
    const ok = Array.isArray(box) && box.length === 4 && box.every((v) => typeof v === 'number' && v >= 0 && v <= 1) && box[0] < box[2] && box[1] < box[3]
    if (!ok) throw new ApiError('bad-file', `The boxes file ${file}: the box for "${path}" must be [x0, y0, x1, y1] with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 (fractions of the image).`, file)
    out.set(path, box as Box)
  }
  return out
}

export interface AuditHooks {
  onProgress?: (p: AuditProgress) => void
  onImage?: (image: AuditImage) => void
  throwIfCancelled?: () => void
  threads?: number
}
