import { randomUUID } from 'node:crypto'
import { join, resolve } from 'node:path'
import type { AppInfo, MethodName, ParsedArgsOf, ResultOf } from '../shared/api'
import { ApiError } from '../shared/errors'
import { validateCall } from '../shared/validate'
import { backendInfo, libraryVersions } from './engine/backends'
import { ImageLibrary } from './engine/data/images'
import { makeThumbnail } from './engine/data/thumbnails'
import { JobManager, type Emit } from './engine/jobs/jobs'
import { readLabelsFile } from './engine/onnx/summary'
import { LoadedModel } from './engine/model/loaded-model'
import { planCam } from './engine/cam/plan'
import { runCamBatches } from './engine/cam/batch-job'
import { collectInputs, modelForInputs, modelPreprocess } from './engine/model/inputs'
import { classOfFolder } from './engine/model/labels'
import { suggestNormalization } from './engine/audit/suggest-normalization'
import { inspectModel } from './engine/model/inspect'
import { openWorkspace, saveWorkspace } from './engine/workspace'
import { demoInfo } from './engine/demo'
import { methodParams, toRecord } from './engine/cam/record'
import { CamResultStore } from './engine/cam/result-store'
import type { CamItem } from '../shared/api'
import type { AdaptItem, MetaTrainItem } from '../shared/fewshot'
import { parseClassSpec } from './engine/fewshot/data/episodes'
import { openFewshotDataset } from './engine/fewshot/data/open'
import { adaptModel } from './engine/fewshot/adapt/adapt'
import { listFeatures, suggestFeatures, suggestSupportFiles } from './engine/fewshot/adapt/suggest-features'
import { planAdapter, trainAdapter } from './engine/fewshot/adapt/adapter/meta-train'
import { openAdapter } from './engine/fewshot/adapt/adapter/use'
import type { AdapterItem } from '../shared/fewshot-adapter'
import { explicitSetFiles } from './engine/fewshot/adapt/sets'
import { predictionsJson } from './engine/fewshot/adapt/report'
import { writeAdaptedModel } from './engine/fewshot/adapt/write'
import { writeFileAtomic } from './engine/files/safe-write'
import { prepareOutputDir, prepareOutputFile } from './engine/files/output-dir'
import { scratchDir, sweepStaleScratch } from './engine/scratch-dir'
import { checkMetaTrainSetup, evaluateCheckpoint, runMetaTraining } from './engine/fewshot/meta-train'
import { planAudit } from './engine/audit/plan'
import { runAudit } from './engine/audit/run-audit'
import { writeAudit } from './engine/audit/report-data'
import type { AuditResult } from '../shared/audit'
import { APP_VERSION } from './version'
import { OutputStore } from './engine/outputs'
import { checkConversion, probeInputs } from './engine/model/conversion-check'
import { loadImageTensor } from './engine/data/image-tensor'
import { reopenAudit, viewImage } from './engine/audit/reopen'

/** Models kept open: the UI runs on the one it opened last; older runs keep their results without the model. */
const MAX_OPEN_MODELS = 4

type Handlers = { [M in MethodName]: (args: ParsedArgsOf<M>) => Promise<ResultOf<M>> }

/**
 * The API implementation: one function per call, over the engine. It runs wherever the engine runs
 * (utility process, child process, or in-process for the CLI) and never touches a transport.
 */
export class Service {
  readonly images = new ImageLibrary()
  readonly jobs: JobManager
  private readonly models = new Map<string, LoadedModel>()
  private readonly camResults = new CamResultStore()
  private readonly outputs = new OutputStore()

  constructor(private readonly emit: Emit) {
    this.jobs = new JobManager(emit)
    // Whatever an engine that was killed left in the temp folder (adapted models, audits, maps) goes now.
    sweepStaleScratch('*')
  }

  private readonly handlers: Handlers = {
    'app.info': async () => this.info(),
    'models.open': async ({ path, labelsPath, progressId }) => {
      const labels = labelsPath ? await readLabelsFile(resolve(labelsPath)) : null
      const model = await LoadedModel.open(resolve(path), labels, { onPhase: this.callProgress(progressId) })
      // Keep the few most recently opened: each holds its weights twice (bytes and decoded graph).
      this.models.delete(model.summary.id)
      this.models.set(model.summary.id, model)
      if (this.models.size > MAX_OPEN_MODELS) this.models.delete(this.models.keys().next().value!)
      return model.summary
    },
    'models.inspect': async ({ modelId }) => inspectModel(this.model(modelId)),
    'models.checkConversion': async ({ modelId, imageIds }) => {
      this.jobs.checkRoom()
      const model = this.model(modelId)
      const paths = imageIds?.map((id) => this.imagePath(id))
      return this.jobs.start('conversion-check', async (ctx) => {
        const pre = modelPreprocess(model)
        const inputs = paths ? await Promise.all(paths.map(async (p) => (await loadImageTensor(p, pre)).data)) : probeInputs(model)
        return checkConversion(model, inputs, paths ? 'images' : 'probe', { throwIfCancelled: ctx.throwIfCancelled, onProgress: (d, t) => ctx.progress(d, t, 'checking') })
      })
    },
    'models.suggestPreprocess': async ({ modelId, imageIds, resize, channelOrder, size }) => {
      this.jobs.checkRoom()
      // A size only for a model that takes any size, as cam.run: a fixed one refuses another size here, before the job.
      const model = await modelForInputs(this.model(modelId), [], size ? [size.height, size.width] : undefined)
      const inputs = imageIds.map((id) => {
        const entry = this.images.get(id)
        if (!entry) throw new ApiError('not-found', `No image with id ${id} was added.`)
        const label = classOfFolder(model, entry.folderLabel)
        return { path: entry.path, label: label >= 0 ? label : null }
      })
      return this.jobs.start('preprocess-suggest', async (ctx) =>
        suggestNormalization(model, inputs, { ...(resize ? { resize } : {}), ...(channelOrder ? { channelOrder } : {}) }, {
          throwIfCancelled: ctx.throwIfCancelled,
          onProgress: (done, total, candidate) => ctx.progress(done, total, 'scoring', candidate)
        })
      )
    },
    'cam.run': async (a) => {
      this.jobs.checkRoom()
      const idByPath = new Map<string, string>()
      const paths = [...(a.paths ?? [])]
      for (const id of a.imageIds ?? []) {
        const p = this.imagePath(id)
        idByPath.set(p, id)
        paths.push(p)
      }
      // Mistakes (layer, target, size) come back as call errors, before the job starts.
      const { target, runner, preprocess } = await planCam(this.model(a.modelId), paths, a)
      return this.jobs.start('cam', async (ctx) => {
        try {
          const { inputs, failed } = await collectInputs(paths)
          const total = inputs.length + failed.length
          for (const f of failed) ctx.item({ ok: false, file: f.file, imageId: null, error: f.error } satisfies CamItem)
          ctx.progress(failed.length, total, 'computing')
          // Score-CAM's steps run ahead of their batch's outcomes: progress never goes back.
          let shown = 0
          const progress = (done: number, stem: string, step?: { done: number; total: number }) => {
            if (step ? done < shown : done <= shown) return
            shown = done
            ctx.progress(failed.length + done, total, 'computing', stem, step)
          }
          const counts = await runCamBatches({
            runner,
            inputs,
            preprocess,
            target,
            batch: a.batch,
            throwIfCancelled: ctx.throwIfCancelled,
            onOutcome: async (o, done) => {
              const imageId = idByPath.get(o.input.path) ?? null
              const record = toRecord(o, runner.layer, a.method, runner.provider, methodParams(a.method, a))
              if (o.ok && record.ok) {
                const stored = await this.camResults.add(o, record, preprocess, ctx.jobId, a.hold)
                const [height, width] = preprocess.size
                ctx.item({ ...record, ok: true, resultId: stored.id, imageId, mapPng: stored.mapPng, ...(stored.maskPng ? { maskPng: stored.maskPng } : {}), width, height, raw: Array.from(o.result.raw) } satisfies CamItem)
              } else if (!record.ok) {
                ctx.item({ ok: false, file: record.file, imageId, error: record.error } satisfies CamItem)
              }
              progress(done, o.input.stem)
            },
            onStep: (s) => progress(s.finished, s.input.stem, { done: s.done, total: s.total })
          })
          return { ok: counts.ok, failed: counts.failed + failed.length, layer: runner.layer, method: a.method, provider: runner.provider }
        } finally {
          await runner.release()
        }
      })
    },
    'cam.export': async ({ resultIds, dir, colormap, alpha }) => {
      const labels = this.images.folderLabels()
      return { dir: resolve(dir), written: await this.camResults.export(resultIds, dir, colormap, alpha, (file) => labels.get(file) ?? null) }
    },
    'cam.release': async ({ jobIds, all }) => this.camResults.release(all ? 'all' : (jobIds ?? [])),
    'workspace.save': async ({ dir, workspace, progressId }) => saveWorkspace(dir, workspace, this.camResults, this.callProgress(progressId)),
    'workspace.open': async ({ dir, progressId }) => openWorkspace(dir, this.camResults, this.callProgress(progressId)),
    'demo.info': async () => demoInfo(),
    'images.add': async ({ paths }) => this.images.add(paths),
    'images.list': async () => this.images.list(),
    'images.remove': async ({ ids }) => ({ removed: this.images.remove(ids) }),
    'fewshot.metaTrain': async (a) => {
      this.jobs.checkRoom()
      const dataset = await openFewshotDataset(a.dataset)
      const classes = (spec: string) => parseClassSpec(spec, dataset.classes.length)
      const setup = {
        dataset,
        trainClasses: classes(a.trainClasses),
        testClasses: classes(a.testClasses),
        rotations: a.rotations,
        config: a.config,
        iterations: a.iterations,
        checkpointPath: await prepareOutputFile(a.checkpoint, 'checkpoint'),
        checkpointEvery: a.checkpointEvery,
        resume: a.resume,
        modelOut: a.modelOut ? await prepareOutputFile(a.modelOut, 'modelOut') : undefined,
        evalEpisodes: a.evalEpisodes,
        threads: a.threads
      }
      // Mistakes in the setup come back as call errors, before any job starts.
      checkMetaTrainSetup(setup)
      return this.jobs.start('fewshot.metaTrain', async (ctx) => {
        const result = await runMetaTraining({
          ...setup,
          throwIfCancelled: ctx.throwIfCancelled,
          onIteration: (r, total) => {
            ctx.item({ iteration: r.iteration, loss: r.loss, accuracy: r.accuracy, supportLoss: r.supportLoss } satisfies MetaTrainItem)
            ctx.progress(r.iteration, total, 'meta-training', `loss ${r.loss.toFixed(3)}`)
          },
          onEvaluate: (done, total) => ctx.progress(done, total, 'evaluating')
        })
        return { ...result, backend: `onnxruntime-node (${result.provider})` }
      })
    },
    'fewshot.evaluate': async (a) => {
      this.jobs.checkRoom()
      const dataset = await openFewshotDataset(a.dataset)
      const testClasses = parseClassSpec(a.testClasses, dataset.classes.length)
      return this.jobs.start('fewshot.evaluate', async (ctx) => {
        const { accuracies: _, ...result } = await evaluateCheckpoint({
          dataset,
          checkpointPath: resolve(a.checkpoint),
          testClasses,
          episodes: a.episodes,
          threads: a.threads,
          throwIfCancelled: ctx.throwIfCancelled,
          onEpisode: (done, total) => ctx.progress(done, total, 'evaluating')
        })
        return { ...result, backend: `onnxruntime-node (${result.provider})` }
      })
    },
    'fewshot.adapt': async (a) => {
      this.jobs.checkRoom()
      // Explicit sets are checked before the job starts (2+ classes, 1 support + 1 query each, the
      // unreadable files named), so those mistakes come back as call errors.
      if (a.sets) await explicitSetFiles(a.sets, 8, a.mode === 'add' ? 1 : 2)
      // The output folder is checked (and made) before the job, like every folder a call writes into.
      const chosenOut = a.out ? await prepareOutputDir(a.out, 'out') : null
      return this.jobs.start('fewshot.adapt', async (ctx) => {
        // Every setting of the call goes to the engine as given (it checks them with the same schema).
        const { out: _out, modelPath, supportDir, queryDir, sets, ...settings } = a
        const result = await adaptModel({
          ...settings,
          modelPath: resolve(modelPath),
          ...(sets ? { sets } : { supportDir: resolve(supportDir!), queryDir: resolve(queryDir!) }),
          throwIfCancelled: ctx.throwIfCancelled,
          onProgress: (p) => ctx.progress(p.done, p.total, p.stage),
          // Head-only steps (in chunks) and deeper adaptation's steps: each loss streams out as it is measured.
          onStep: (item) => ctx.item(item satisfies AdaptItem)
        })
        // Adding classes refines the new rows in one synchronous pass: its losses stream out afterwards.
        if (result.mode === 'add') result.supportLoss.forEach((supportLoss, step) => ctx.item({ step, supportLoss } satisfies AdaptItem))
        // Without a folder: a scratch folder of this engine, removed on exit and swept after a crash.
        const out = chosenOut ?? scratchDir('adapted')
        const modelOut = join(out, 'model.onnx')
        await writeAdaptedModel(modelOut, result)
        const report = predictionsJson(result, modelOut)
        await writeFileAtomic(join(out, 'predictions.json'), JSON.stringify(report, null, 2) + '\n')
        this.outputs.keep(ctx.jobId, { kind: 'fewshot.adapt', files: [modelOut, join(out, 'predictions.json')], main: modelOut })
        return { ...report, downloadId: this.offerDownload(modelOut) }
      })
    },
    'fewshot.features': async (a) => listFeatures(a),
    'fewshot.suggestFeatures': async (a) => {
      this.jobs.checkRoom()
      // Too few classes or support images per class come back as call errors, before any job starts.
      await suggestSupportFiles(a)
      return this.jobs.start('fewshot.suggestFeatures', async (ctx) =>
        suggestFeatures({ ...a, throwIfCancelled: ctx.throwIfCancelled, onProgress: (done, total) => ctx.progress(done, total, 'embeddings') })
      )
    },
    'fewshot.adapter': async (a) => {
      this.jobs.checkRoom()
      // The output file, the model, its features and the folder's episodes are checked before the job starts.
      const plan = await planAdapter(a, await prepareOutputFile(a.out, 'out'))
      return this.jobs.start('fewshot.adapter', async (ctx) =>
        trainAdapter(plan, {
          throwIfCancelled: ctx.throwIfCancelled,
          onProgress: (p) => ctx.progress(p.done, p.total, p.stage),
          onIteration: (item, total) => {
            ctx.item(item satisfies AdapterItem)
            ctx.progress(item.iteration, total, 'meta-training', `loss ${item.loss.toFixed(3)}`)
          }
        })
      )
    },
    'fewshot.adapterInfo': async ({ path }) => (await openAdapter(path)).record,
    'audit.run': async (a) => {
      this.jobs.checkRoom()
      // Model, folder, labels, shard and settings are checked before the job starts: mistakes are call errors.
      const plan = await planAudit(a)
      const chosenOut = a.out ? await prepareOutputDir(a.out, 'out') : null
      return this.jobs.start('audit', async (ctx) => {
        const file = await runAudit(plan, {
          throwIfCancelled: ctx.throwIfCancelled,
          onProgress: (p) => ctx.progress(p.done, p.total, p.phase, p.message),
          onImage: (image) => ctx.item(viewImage(image))
        })
        const out = chosenOut ?? scratchDir('audit')
        const written = await writeAudit(file, out)
        this.outputs.keep(ctx.jobId, { kind: 'audit', files: [written.json, ...written.csv, written.report], main: written.report })
        ctx.progress(1, 1, 'report')
        return { ...written, model: file.model, dataset: file.dataset, shard: file.shard, summary: file.summary, downloadId: this.offerDownload(written.report) } satisfies AuditResult
      })
    },
    'outputs.save': async ({ jobId, dir }) => this.outputs.save(jobId, dir),
    'audit.open': async ({ dir }) => {
      const opened = await reopenAudit(dir)
      // Registered like a finished run: saved again by copy, the report offered for download.
      const jobId = randomUUID()
      this.outputs.keep(jobId, { kind: 'audit', files: opened.files, main: opened.result.report })
      return { jobId, result: { ...opened.result, downloadId: this.offerDownload(opened.result.report) }, images: opened.images }
    },
    'jobs.cancel': async ({ jobId }) => this.jobs.cancel(jobId)
  }

  async info(): Promise<AppInfo> {
    return {
      name: 'metascope',
      version: APP_VERSION,
      node: process.versions.node,
      electron: process.versions.electron ?? null,
      platform: process.platform,
      arch: process.arch,
      libraries: libraryVersions(),
      backends: await backendInfo()
    }
  }

  /** Validates then runs one call; throws ApiError on any failure. */
  async call(method: unknown, args: unknown): Promise<unknown> {
    const call = validateCall(method, args)
    const handler = this.handlers[call.method] as (a: unknown) => Promise<unknown>
    return handler(call.args)
  }

  /** Progress events of a call its caller named (`progressId`); without a name, none. */
  private callProgress(callId: string | undefined): (phase: string, done?: number, total?: number) => void {
    if (!callId) return () => {}
    return (phase, done = 0, total = 0) => this.emit({ type: 'call.progress', callId, phase, done, total })
  }

  private model(id: string): LoadedModel {
    const m = this.models.get(id)
    if (!m) throw new ApiError('not-found', `No open model with id ${id}; open the model first.`)
    return m
  }

  /** Files the engine wrote for the user to download (browser mode), by an unguessable id. */
  private readonly downloads = new Map<string, string>()

  /** Browser mode cannot see the engine's disk: a file a job wrote is offered under a random id. */
  private offerDownload(path: string): string {
    const downloadId = randomUUID()
    this.downloads.set(downloadId, path)
    return downloadId
  }

  /** For the download route: only files registered by a job resolve. */
  downloadPath(id: string): string {
    const path = this.downloads.get(id)
    if (!path) throw new ApiError('not-found', `No download with id ${id}.`)
    return path
  }

  /** For the file-serving routes of both transports: the file and the format it decoded as when added (only images the user added resolve). */
  imageFile(id: string): { path: string; format: string } {
    const entry = this.images.get(id)
    if (!entry) throw new ApiError('not-found', `No image with id ${id} was added.`)
    return { path: entry.path, format: entry.format }
  }

  /** The path of an added image. */
  imagePath(id: string): string {
    return this.imageFile(id).path
  }

  /** For the thumbnail routes: a small WebP of an added image (unknown ids are 'not-found'). */
  async thumbnail(id: string, size: number): Promise<Uint8Array> {
    return makeThumbnail(this.imagePath(id), size)
  }
}
