import { defineStore } from 'pinia'
import { computed, markRaw, reactive, ref } from 'vue'
import type { ArgsOf, CamItem, CamRunRecord, CamSettings, PreprocessChoice } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { i18n } from '../i18n'
import { attributionArgs, attributionDefaults, type AttributionValues } from '../lib/attribution-params'
import { runJob, type JobRecord, type JobStatus } from '../lib/job-runner'
import { checkSizeText, MAX_SIDE, modelDefaults, preprocessArgs } from '../lib/preprocess'
import { parseTarget } from '../../../shared/targets'
import { asError } from './errors'
import { useImagesStore } from './images'
import { useModelStore } from './model'

export const DEFAULT_SETTINGS: CamSettings = { method: 'gradcam', layer: 'auto', target: 'top1', colormap: 'jet', alpha: 0.5, sharedScale: false, signView: 'magnitude' }

/** Runs of cam.run and their streamed items; the gallery, compare view and export read from here. */
function isClassTarget(target: string): boolean {
  try {
    return parseTarget(target).kind === 'class'
  } catch {
    return false
  }
}

export const useCamStore = defineStore('cam', () => {
  /**
   * The per-model preprocessing choices are replaced, never changed in place, and kept raw: a save
   * sends settings across Electron's IPC, which cannot clone Vue's reactive proxies.
   */
  const settings = reactive<CamSettings>({ ...DEFAULT_SETTINGS, preprocess: markRaw({}) })
  /** The size fields as typed, per model path (a typo stays visible with its message; only a valid size reaches settings). */
  const sizeText = reactive<Record<string, { width: string; height: string }>>({})
  /** The pixel attributions' parameters (MethodParams.vue); a run sends the ones its method reads. */
  const attribution = reactive<AttributionValues>(attributionDefaults())
  const runs = ref<CamRunRecord[]>([])
  const activeRunId = ref<string | null>(null)
  const compareRunId = ref<string | null>(null)
  const error = ref<ApiErrorShape | null>(null)

  const activeRun = computed(() => runs.value.find((r) => r.id === activeRunId.value) ?? null)
  const compareRun = computed(() => runs.value.find((r) => r.id === compareRunId.value) ?? null)

  /**
   * The run whose predictions stand for model `path` (the library shows and filters by them): the
   * active run when it is that model's, else that model's latest run with a result. Predictions belong
   * to a model: another model's run never stands for the open one.
   */
  function predictionRunOf(path: string | undefined): CamRunRecord | null {
    if (!path) return null
    if (activeRun.value?.modelPath === path) return activeRun.value
    return runs.value.findLast((r) => r.modelPath === path && r.items.some((i) => i.ok)) ?? null
  }
  const predictionRun = computed(() => predictionRunOf(useModelStore().summary?.path))

  // A run may be several jobs (one per target class): their ids point at the run's id.
  const alias = new Map<string, string>()

  /**
   * Runs start with `hold`, so the engine's result budget never discards a heatmap shown here; runs
   * this view drops are released. A fresh page shows nothing yet: whatever an earlier page held goes.
   */
  api.call('cam.release', { all: true }).catch(() => undefined)
  function release(dropped: CamRunRecord[]): void {
    const gone = new Set(dropped.map((r) => r.id))
    const jobIds = [...gone, ...[...alias].filter(([, runId]) => gone.has(runId)).map(([jobId]) => jobId)]
    if (jobIds.length) api.call('cam.release', { jobIds }).catch(() => undefined)
  }

  /** Starts one cam.run job of `run`, into `part` (the run itself, or its share of a run of several jobs). */
  function runCam(run: CamRunRecord, part: JobRecord, args: ArgsOf<'cam.run'>, end?: (status: JobStatus) => void) {
    // A failure says why in the run panel; the run record keeps no error of its own.
    return runJob(part, () => api.call('cam.run', args), { item: (item) => run.items.push(item as CamItem), failed: (e) => (error.value = e), end })
  }

  /** The preprocessing chosen for a model (by path); empty: every field the model's default. */
  function preprocessOf(modelPath: string): PreprocessChoice {
    return settings.preprocess?.[modelPath] ?? {}
  }

  /** Sets (or, with undefined, returns to the model's default) one preprocessing field of a model. */
  function setPreprocess<K extends keyof PreprocessChoice>(modelPath: string, key: K, value: PreprocessChoice[K] | undefined): void {
    const next: PreprocessChoice = { ...preprocessOf(modelPath) }
    if (value === undefined) delete next[key]
    else next[key] = value
    settings.preprocess = markRaw({ ...settings.preprocess, [modelPath]: next })
  }

  /** The typed size of a model: its saved size until the user types. */
  function sizeTextOf(modelPath: string): { width: string; height: string } {
    const size = preprocessOf(modelPath).size
    return sizeText[modelPath] ?? { width: size ? String(size.width) : '', height: size ? String(size.height) : '' }
  }

  /** Keeps what was typed; a valid size (or two empty fields: the model's default) becomes the choice. */
  function setSizeText(modelPath: string, width: string, height: string): void {
    sizeText[modelPath] = { width, height }
    const check = checkSizeText(width, height)
    if (check.ok) setPreprocess(modelPath, 'size', check.size ?? undefined)
  }

  /** Why the typed size of a model cannot be used (an i18n key under model.pre), or null. */
  function sizeProblem(modelPath: string): string | null {
    const typed = sizeText[modelPath]
    if (!typed) return null
    const check = checkSizeText(typed.width, typed.height)
    return check.ok ? null : check.problem
  }

  /** Runs the chosen method (or `over`'s method, layer and target) on the open model. */
  async function start(imageIds: string[], over: Partial<Pick<CamSettings, 'method' | 'layer' | 'target'>> = {}): Promise<string | null> {
    const { method, layer, target } = { method: settings.method, layer: settings.layer, target: settings.target, ...over }
    const model = useModelStore()
    if (!model.summary || !imageIds.length) return null
    const dynamicSize = modelDefaults(model.summary).dynamicSize
    const problem = dynamicSize ? sizeProblem(model.summary.path) : null
    if (problem) {
      // Running at another size than the one shown would mislead: say why nothing ran.
      error.value = { code: 'invalid-arguments', message: i18n.global.t('model.pre.sizeNotRun', { problem: i18n.global.t(`model.pre.${problem}`, { max: MAX_SIDE }) }) }
      return null
    }
    // Shown once the call answers; events that overtook the answer land in it first.
    const run = reactive<CamRunRecord>({
      id: '',
      modelId: model.summary.id,
      modelPath: model.summary.path,
      method,
      layer,
      target,
      createdAt: new Date().toISOString(),
      status: 'running',
      items: []
    })
    try {
      const { jobId } = await runCam(run, run, {
        modelId: model.summary.id,
        imageIds,
        method,
        layer,
        target,
        hold: true,
        ...attributionArgs(method, attribution),
        ...preprocessArgs(preprocessOf(model.summary.path), dynamicSize)
      })
      run.id = jobId
      runs.value.push(run)
      if (activeRunId.value && activeRunId.value !== jobId) compareRunId.value = activeRunId.value
      activeRunId.value = jobId
      error.value = null
      return jobId
    } catch (err) {
      error.value = asError(err)
      return null
    }
  }

  /**
   * One run over several cam.run jobs on any open model (e.g. an adapted model at each query image's
   * class): group g's images get target g.target. The run does not become the active one.
   */
  async function startGroups(spec: { modelId: string; modelPath: string; target: string | number; groups: { imageIds: string[]; target: string | number }[] }): Promise<string> {
    const groups = spec.groups.filter((g) => g.imageIds.length)
    if (!groups.length) throw new Error('no images to run on')
    // Only what was chosen for this model's file: a size needs a dynamic-size model, which the summary alone tells.
    const pre = preprocessArgs({ ...preprocessOf(spec.modelPath), size: undefined }, false)
    const run = reactive<CamRunRecord>({ id: '', modelId: spec.modelId, modelPath: spec.modelPath, method: settings.method, layer: settings.layer, target: spec.target, createdAt: new Date().toISOString(), status: 'running', items: [] })
    const parts: JobRecord[] = groups.map(() => ({ status: 'running' }))
    // The run ends as the last of its jobs that failed or was cancelled, or done once all of them are.
    const settle = (status: JobStatus) => {
      if (status !== 'done') run.status = status
      else if (run.status === 'running' && parts.every((p) => p.status === 'done')) run.status = 'done'
    }
    for (const [i, g] of groups.entries()) {
      const { jobId } = await runCam(run, parts[i], { modelId: spec.modelId, imageIds: g.imageIds, method: settings.method, layer: settings.layer, target: g.target, hold: true, ...attributionArgs(settings.method, attribution), ...pre }, settle)
      if (i === 0) {
        run.id = jobId
        runs.value.push(run)
      } else alias.set(jobId, run.id)
    }
    return run.id
  }

  /**
   * After the open model changed from `previous`: settings that name the old model's layers or classes
   * return to auto / top-1, and the library gets the new model's predictions. A model that has a run
   * shows it again; otherwise the images the old model had predicted are run again (the old run's method,
   * Grad-CAM for Score-CAM, at auto layer and top-1, streaming in with its progress) and the old runs stay, labelled
   * with their model. Nothing of the old model is shown as the new one's.
   */
  async function followModel(previous: string | null, previousLabels: string[] | null): Promise<void> {
    const model = useModelStore()
    const path = model.summary?.path
    if (!path || path === previous) return
    // A layer, or a comma-separated list of layers (averaged), that the new model does not have: back to auto.
    const known = (name: string) => !!model.inspection?.layers.some((l) => l.name === name)
    if (settings.layer !== 'auto' && !known(settings.layer) && !settings.layer.split(',').every(known)) settings.layer = 'auto'
    if (typeof settings.target === 'number' && JSON.stringify(previousLabels) !== JSON.stringify(model.labels)) settings.target = 'top1'
    // A contrast, output, region or similarity names the old model's classes and output: back to top-1.
    if (typeof settings.target === 'string' && !isClassTarget(settings.target)) settings.target = 'top1'
    const own = predictionRunOf(path)
    if (own) {
      activeRunId.value = own.id
      return
    }
    const before = predictionRunOf(previous ?? undefined)
    if (!before) return
    const library = useImagesStore().byId
    const ids = before.items.flatMap((i) => (i.ok && i.imageId && library.has(i.imageId) ? [i.imageId] : []))
    // Score-CAM runs the model once per channel of the layer: too heavy to start unasked, so the
    // new predictions come with Grad-CAM then; any other method is as cheap as a forward pass or two.
    const method = before.method === 'scorecam' ? 'gradcam' : before.method
    if (ids.length) await start(ids, { method, layer: 'auto', target: 'top1' })
  }

  /** Largest raw value over a run's maps: the common denominator of the shared scale. */
  function sharedMax(run: CamRunRecord | null): number {
    let max = 0
    // Magnitudes: a signed pixel attribution's negative values count by their size (a CAM's raw map is >= 0).
    for (const i of run?.items ?? []) if (i.ok) for (const v of i.raw) if (Math.abs(v) > max) max = Math.abs(v)
    return max
  }

  /** The run panel's attribution parameters as a workspace keeps them (no baseline image while none is chosen). */
  function attributionSnapshot(): NonNullable<CamSettings['attribution']> {
    const { baselineImage, ...rest } = attribution
    return baselineImage ? { ...rest, baselineImage } : rest
  }

  function restore(saved: CamRunRecord[], s: CamSettings): void {
    const { attribution: params, ...rest } = s
    Object.assign(settings, rest)
    // Workspaces saved before the parameters were kept mean the defaults.
    Object.assign(attribution, attributionDefaults(), params ?? {})
    // Workspaces saved before preprocessing choices existed mean every model's defaults.
    settings.preprocess = markRaw({ ...s.preprocess })
    for (const k of Object.keys(sizeText)) delete sizeText[k]
    // The engine holds the reopened runs; the ones they replace are let go (a run reopened again stays held).
    release(runs.value.filter((r) => !saved.some((x) => x.id === r.id)))
    runs.value = saved.map((r) => ({ ...r, status: r.status === 'running' ? 'cancelled' : r.status }))
    activeRunId.value = runs.value.at(-1)?.id ?? null
    compareRunId.value = runs.value.length > 1 ? runs.value.at(-2)!.id : null
  }

  return { settings, attribution, attributionSnapshot, runs, activeRunId, compareRunId, activeRun, compareRun, predictionRun, error, start, startGroups, followModel, sharedMax, restore, preprocessOf, setPreprocess, sizeTextOf, setSizeText, sizeProblem }
})
