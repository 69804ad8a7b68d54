import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { z } from 'zod'
import { AuditArgs, type AuditFile, type AuditImage, type AuditProgress, type ImageMethodNumbers, type SanityImage } from '../../../shared/audit'
import { ApiError, toErrorShape } from '../../../shared/errors'
import { modelForInputs, modelPreprocess } from '../model/inputs'
import type { CamMethod } from '../cam/methods'
import { CamRunner, type CamMap } from '../cam/runner'
import { loadImageTensor, type Preprocess } from '../data/preprocess'
import { LoadedModel } from '../model/loaded-model'
import { readLabelsFile } from '../onnx/summary'
import { listAuditDataset, type AuditDataset, type AuditInput } from './dataset'
import { faithfulnessTasks } from './faithfulness'
import { modelIdentity, software } from './identity'
import { blurBaseline, meanBaseline, type Plane } from './pixels'
import { camMaker, runSanity } from './sanity'
import { ForwardScorer, type ScoreTask } from './scorer'
import { parseShard, shardOf, type Shard } from './shard'
import { summarize } from './summary'
import { worstThumbs } from './thumbs'
import { boxScores, encodeSmall, massShares, smallMap } from './where-it-looks'
import { faithList, MISTAKES, UNSURE, WorstKeeper } from './worst'

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
  const model = await modelForInputs(await LoadedModel.open(resolve(args.modelPath), labels), [], s.size ? [s.size.height, s.size.width] : undefined)
  const preprocess = modelPreprocess(model, {
    ...(s.normalization ? { normalization: s.normalization } : {}),
    ...(s.resize ? { resize: s.resize } : {}),
    ...(s.channelOrder ? { channelOrder: s.channelOrder } : {})
  })
  const dataset = await listAuditDataset(args.imagesDir, model, s.metrics.includes('calibration'))
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

/**
 * Runs the audit over the plan's images in batches: one CAM run per method per batch, then every
 * perturbed input (deletion, insertion, ROAD, map-multiplied) streamed through the plain model in
 * batches. Only per-image numbers, a 16 x 16 map per method and the thumbnails of the current worst
 * cases are kept, so memory does not grow with the number of images beyond those small records.
 */
export async function runAudit(plan: AuditPlan, hooks: AuditHooks = {}): Promise<AuditFile> {
  const { model, preprocess, args, inputs } = plan
  const s = args.settings
  const want = new Set(s.metrics)
  const methods = s.methods as CamMethod[]
  const check = () => hooks.throwIfCancelled?.()
  const runners: CamRunner[] = []
  let scorer: ForwardScorer | null = null
  try {
    for (const method of methods) runners.push(await CamRunner.create(model, { method, layer: s.layer, threads: hooks.threads }))
    scorer = await ForwardScorer.create(model, s.batch, hooks.threads)
    const [C, H, W] = model.inputChw
    const plane: Plane = { channels: C, height: H, width: W, layout: model.layout }
    const worst = new WorstKeeper(s.worst)
    const images: AuditImage[] = []
    const perturbs = want.has('deletion') || want.has('insertion') || want.has('road') || want.has('confidence')
    const camBatch = model.dynamicBatch ? s.batch : model.fixedBatch
    // The folder was listed (and labels matched) while planning; say what it found.
    const found = plan.shard ? `${inputs.length} of ${plan.dataset.identity.count} images (shard ${plan.shard.index}/${plan.shard.count})` : `${inputs.length} images`
    hooks.onProgress?.({ phase: 'listing', done: inputs.length, total: inputs.length, message: found })
    hooks.onProgress?.({ phase: 'computing', done: 0, total: inputs.length })
    for (let start = 0; start < inputs.length; start += camBatch) {
      check()
      const chunk = inputs.slice(start, start + camBatch)
      const loaded = await Promise.all(
        chunk.map(async (input) => {
          try {
            return { input, x: (await loadImageTensor(input.file, preprocess)).data }
          } catch (err) {
            const e = toErrorShape(err)
            return { input, error: { ...e, file: e.file ?? input.file } }
          }
        })
      )
      const good = loaded.filter((l): l is { input: AuditInput; x: Float32Array } => 'x' in l)
      const maps: CamMap[][] = []
      if (good.length) {
        const xs = Array.from({ length: model.dynamicBatch ? good.length : model.fixedBatch }, (_, i) => good[Math.min(i, good.length - 1)].x)
        for (const r of runners) {
          check()
          maps.push(await r.run(r.stack(xs), xs.map(() => -1), hooks.throwIfCancelled))
        }
      }
      const records = good.map((g, gi) => {
        const top = maps[0][gi].top5[0]
        const rec: AuditImage & { methods: Record<string, ImageMethodNumbers> } = {
          path: g.input.path,
          label: g.input.label,
          predicted: top.index,
          confidence: top.probability,
          methods: {}
        }
        methods.forEach((m, mi) => {
          const cm = maps[mi][gi]
          const n: ImageMethodNumbers = { target: cm.target.index }
          if (want.has('where')) {
            Object.assign(n, massShares(cm.map, H, W))
            n.small = encodeSmall(smallMap(cm.map, H, W))
            const box = plan.boxes?.get(g.input.path)
            if (box) Object.assign(n, boxScores(cm.map, H, W, box))
          }
          rec.methods[m] = n
        })
        return rec
      })
      if (perturbs || plan.dataset.identity.labelled) {
        const tasks = perturbationTasks({ good, maps, records, methods, settings: s, plane })
        await scorer.score(tasks, hooks.throwIfCancelled)
      }
      // Worst cases: thumbnails only for images that enter a list.
      for (const [gi, rec] of records.entries()) {
        const offers: [string, number][] = []
        if (want.has('calibration') && rec.label !== null) {
          if (rec.predicted === rec.label) offers.push([UNSURE, 1 - rec.confidence!])
          else offers.push([MISTAKES, rec.confidence!])
        }
        for (const m of methods) {
          const n = rec.methods[m]
          if (n.deletion !== undefined || n.insertion !== undefined) offers.push([faithList(m), (n.deletion ?? 0) - (n.insertion ?? 0)])
        }
        const kept = offers.filter(([list, score]) => worst.wouldKeep(list, score, rec.path))
        if (!kept.length) continue
        const thumbs = await worstThumbs(good[gi].input.file, preprocess, Object.fromEntries(methods.map((m, mi) => [m, maps[mi][gi].map])))
        for (const [list, score] of kept) {
          worst.add(list, { path: rec.path, label: rec.label, predicted: rec.predicted!, confidence: rec.confidence!, score, ...thumbs })
        }
      }
      const byPath = new Map(records.map((r) => [r.path, r]))
      for (const l of loaded) {
        const rec: AuditImage = byPath.get(l.input.path) ?? { path: l.input.path, label: l.input.label, error: 'error' in l ? l.error : { code: 'internal', message: 'no result' } }
        images.push(rec)
        hooks.onImage?.(rec)
      }
      hooks.onProgress?.({ phase: 'computing', done: Math.min(inputs.length, start + chunk.length), total: inputs.length, message: chunk[chunk.length - 1].path })
    }

    const sanity = want.has('sanity') ? await sanityPart(plan, images, runners[0].layer, hooks) : null
    hooks.onProgress?.({ phase: 'report', done: 0, total: 1 })
    const labels = Array.from({ length: model.numClasses }, (_, i) => model.labelOf(i))
    const worstLists = worst.toJSON()
    return {
      format: 'metascope-audit',
      version: 1,
      model: modelIdentity(model, preprocess, runners[0].layer),
      dataset: plan.dataset.identity,
      settings: s,
      shard: plan.shard,
      software: software(runners[0].provider),
      images,
      sanity,
      worst: worstLists,
      summary: summarize({ images, settings: s, labels, labelled: plan.dataset.identity.labelled, sanity, worst: worstLists })
    }
  } finally {
    for (const r of runners) await r.release()
    await scorer?.release()
  }
}

/**
 * Lazily made perturbed inputs for one batch of images: each is built only when the scorer has room
 * for it, so a batch of images never holds more than one scorer batch of perturbed copies.
 */
function* perturbationTasks(a: {
  good: { input: AuditInput; x: Float32Array }[]
  maps: CamMap[][]
  records: (AuditImage & { methods: Record<string, ImageMethodNumbers> })[]
  methods: string[]
  settings: ParsedAuditArgs['settings']
  plane: Plane
}): Generator<ScoreTask> {
  const s = a.settings
  for (const [gi, g] of a.good.entries()) {
    const rec = a.records[gi]
    if (rec.label !== null) yield { target: rec.label, fill: (d) => d.set(g.x), done: (p) => (rec.labelProbability = p) }
    let baseline: Float32Array | null = null
    const base = () => (baseline ??= s.baseline === 'blur' ? blurBaseline(g.x, a.plane) : meanBaseline(g.x, a.plane))
    for (const [mi, method] of a.methods.entries()) {
      const cm = a.maps[mi][gi]
      yield* faithfulnessTasks(
        { x: g.x, map: cm.map, target: cm.target.index, probability: cm.target.probability, path: g.input.path, method, baseline: base },
        s,
        a.plane,
        rec.methods[method]
      )
    }
  }
}

/** Positions in the whole sorted set of the sanity sample: spread evenly, so a class-sorted set gives several classes. */
export function sanitySample(count: number, wanted: number): number[] {
  const n = Math.min(count, wanted)
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n))
}

/**
 * The randomisation check on `sanityImages` images spread over the whole sorted set (each shard
 * computes those that fall in it), for every method, at the layer `auto` resolved to.
 */
async function sanityPart(plan: AuditPlan, images: AuditImage[], layer: string, hooks: AuditHooks): Promise<AuditFile['sanity']> {
  const s = plan.args.settings
  const sample = new Set(sanitySample(plan.dataset.inputs.length, s.sanityImages).map((i) => plan.dataset.inputs[i].path))
  const mine = images.filter((i) => sample.has(i.path) && !i.error && i.predicted !== undefined)
  if (!mine.length) return null
  const files = new Map(plan.inputs.map((i) => [i.path, i.file]))
  const xs = await Promise.all(mine.map(async (i) => (await loadImageTensor(files.get(i.path)!, plan.preprocess)).data))
  hooks.onProgress?.({ phase: 'sanity', done: 0, total: s.sanitySteps })
  const out = await runSanity({
    model: plan.model,
    inputs: xs,
    targets: mine.map((i) => i.predicted!),
    makers: s.methods.map((m) => camMaker(m as CamMethod, layer)),
    steps: s.sanitySteps,
    seed: s.seed,
    throwIfCancelled: hooks.throwIfCancelled,
    onStep: (done, total, name) => hooks.onProgress?.({ phase: 'sanity', done, total, message: name })
  })
  const sanityImages: SanityImage[] = mine.map((img, i) => ({
    path: img.path,
    methods: Object.fromEntries(s.methods.map((m) => [m, { spearman: out.spearman[m].map((step) => step[i]), ssim: out.ssim[m].map((step) => step[i]) }]))
  }))
  return { steps: out.steps, images: sanityImages }
}
