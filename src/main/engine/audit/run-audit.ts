import { auditClassNames, type AuditFile, type AuditImage, type ImageMethodNumbers } from '../../../shared/audit'
import { toErrorShape } from '../../../shared/errors'
import { camMethodReadsLayer } from '../../../shared/registry/cam-methods'
import type { CamMethod } from '../cam/methods'
import { CamRunner, type CamMap } from '../cam/runner'
import { loadImageTensor } from '../data/image-tensor'
import type { AuditInput } from './dataset'
import { faithfulnessTasks, perturbs } from './faithfulness'
import { modelIdentity, software } from './identity'
import { chosenMetrics } from './metrics'
import { blurBaseline, meanBaseline, type Plane } from './pixels'
import type { AuditHooks, AuditPlan, ParsedAuditArgs } from './plan'
import { ForwardScorer, type ScoreTask } from '../model/scorer'
import { summarize } from './summary'
import { worstThumbs } from './thumbs'
import { faithList, WorstKeeper } from './worst'

/**
 * Runs the audit over the plan's images in batches: one CAM run per method per batch, then every
 * perturbed input (deletion, insertion, ROAD, map-multiplied) streamed through the plain model in
 * batches. Only per-image numbers, a 16 x 16 map per method and the thumbnails of the current worst
 * cases are kept, so memory does not grow with the number of images beyond those small records.
 */
export async function runAudit(plan: AuditPlan, hooks: AuditHooks = {}): Promise<AuditFile> {
  const { model, preprocess, args, inputs } = plan
  const s = args.settings
  const metrics = chosenMetrics(s.metrics)
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
    const scores = perturbs(s.metrics)
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
          const box = plan.boxes?.get(g.input.path)
          for (const metric of metrics) metric.fromMap?.({ map: cm.map, height: H, width: W, ...(box ? { box } : {}) }, n)
          rec.methods[m] = n
        })
        return rec
      })
      if (scores || plan.dataset.identity.labelled) {
        const tasks = perturbationTasks({ good, maps, records, methods, settings: s, plane })
        await scorer.score(tasks, hooks.throwIfCancelled)
      }
      // Worst cases: thumbnails only for images that enter a list.
      for (const [gi, rec] of records.entries()) {
        const offers: [string, number][] = metrics.flatMap((m) => m.offers?.(rec) ?? [])
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

    // The layer `auto` resolved to: a layer-reading method's (a pixel or perturbation runner's layer is the input itself).
    const layerOf = runners[Math.max(0, methods.findIndex((m) => camMethodReadsLayer(m)))].layer
    const after: Pick<AuditFile, 'sanity'> = { sanity: null }
    for (const m of metrics) Object.assign(after, await m.afterImages?.({ plan, hooks, images, layer: layerOf }))
    const sanity = after.sanity
    hooks.onProgress?.({ phase: 'report', done: 0, total: 1 })
    const worstLists = worst.toJSON()
    const identity = modelIdentity(model, preprocess, layerOf)
    const labels = auditClassNames({ model: identity, dataset: plan.dataset.identity })
    return {
      format: 'metascope-audit',
      version: 1,
      model: identity,
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
