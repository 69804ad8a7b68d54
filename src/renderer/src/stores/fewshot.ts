import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ArgsOf, ImageEntry, ImagesAddResult } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { AdaptItem, AdaptReport, MetaTrainItem, type FewshotWorkspace } from '../../../shared/fewshot'
import { api } from '../api'
import { trackJob } from '../lib/track-job'
import { useCamStore } from './cam'
import { asError } from './errors'
import { useImagesStore, type PickedFile } from './images'
import { useModelStore } from './model'

export type AdaptMethodName = FewshotWorkspace['method']
export type SetRow = 'support' | 'query'
export type RunStatus = 'running' | 'done' | 'failed' | 'cancelled'

export interface FewshotImage {
  id: string
  path: string
  name: string
}

export interface FewshotClass {
  key: string
  name: string
  support: FewshotImage[]
  query: FewshotImage[]
}

export interface AdaptRun {
  id: string
  createdAt: string
  status: RunStatus
  modelPath: string
  /** What was sent (the sets, method and parameters): saving the model re-runs it into a folder. */
  args: Record<string, unknown>
  losses: AdaptItem[]
  report: AdaptReport | null
  error: ApiErrorShape | null
  /** cam runs of the query images: the original model at its top-1, the adapted one at each true class. */
  camBefore: string | null
  camAfter: string | null
}

export interface MetaRun {
  id: string
  createdAt: string
  status: RunStatus
  args: Record<string, unknown>
  items: MetaTrainItem[]
  result: Record<string, unknown> | null
  error: ApiErrorShape | null
}

/** A class needs one support and one query image at least; below this it is flagged. */
export const MIN_IMAGES_PER_CLASS = 2
/** Adaptation defaults: the engine's (src/main/engine/fewshot/adapt/adapt.ts). */
export const ADAPT_DEFAULTS = { method: 'protomaml' as AdaptMethodName, steps: 10, innerRate: 0.1, shots: 2 }

let counter = 0
const newKey = () => `c${Date.now().toString(36)}${(counter++).toString(36)}`
const toImage = (e: Pick<ImageEntry, 'id' | 'path' | 'name'>): FewshotImage => ({ id: e.id, path: e.path, name: e.name })

/**
 * The Few-shot view: the board of classes (support and query images each), adaptation runs with
 * their streamed losses and results, Grad-CAM before/after, and meta-training runs.
 */
export const useFewshotStore = defineStore('fewshot', () => {
  const classes = ref<FewshotClass[]>([])
  const shots = ref(ADAPT_DEFAULTS.shots)
  const method = ref<AdaptMethodName>(ADAPT_DEFAULTS.method)
  const steps = ref(ADAPT_DEFAULTS.steps)
  const innerRate = ref(ADAPT_DEFAULTS.innerRate)
  const runs = ref<AdaptRun[]>([])
  const activeRunId = ref<string | null>(null)
  const metaRuns = ref<MetaRun[]>([])
  const activeMetaId = ref<string | null>(null)
  /** Problems of the board itself (adding images, starting a run), shown above it. */
  const error = ref<ApiErrorShape | null>(null)
  /** Files that could not be added to a class, each with its reason. */
  const failures = ref<ImagesAddResult['failed']>([])
  const busy = ref(false)
  const camBusy = ref(false)
  const message = ref<string | null>(null)

  const activeRun = computed(() => runs.value.find((r) => r.id === activeRunId.value) ?? null)
  const activeMeta = computed(() => metaRuns.value.find((r) => r.id === activeMetaId.value) ?? null)
  const running = computed(() => runs.value.some((r) => r.status === 'running'))

  /** Per class: 'few' (under 2 images), 'noSupport', 'noQuery', 'name' (empty or repeated), or null. */
  const issues = computed(() => {
    const names = classes.value.map((c) => c.name.trim())
    return new Map(
      classes.value.map((c, i) => {
        const n = c.support.length + c.query.length
        const issue = !names[i] || names.indexOf(names[i]) !== i ? 'name' : n < MIN_IMAGES_PER_CLASS ? 'few' : !c.support.length ? 'noSupport' : !c.query.length ? 'noQuery' : null
        return [c.key, issue]
      })
    )
  })
  const boardIssue = computed(() => (classes.value.length === 0 ? 'noClasses' : classes.value.length === 1 ? 'oneClass' : null))
  const canRun = computed(() => !boardIssue.value && [...issues.value.values()].every((v) => v === null) && !!useModelStore().summary && !running.value)

  // ---- the board ----

  function addClass(name?: string): FewshotClass {
    const taken = new Set(classes.value.map((c) => c.name))
    let n = classes.value.length + 1
    while (!name && taken.has(`Class ${n}`)) n++
    classes.value.push({ key: newKey(), name: name ?? `Class ${n}`, support: [], query: [] })
    return classes.value.at(-1)!
  }

  function removeClass(key: string): void {
    classes.value = classes.value.filter((c) => c.key !== key)
  }

  function findClass(key: string): FewshotClass | undefined {
    return classes.value.find((c) => c.key === key)
  }

  /** Puts images into a class (once anywhere on the board): support until it holds `shots`, then query. */
  function put(cls: FewshotClass, images: FewshotImage[]): void {
    for (const img of images) {
      for (const c of classes.value) {
        c.support = c.support.filter((x) => x.id !== img.id)
        c.query = c.query.filter((x) => x.id !== img.id)
      }
      if (cls.support.length < shots.value) cls.support.push(img)
      else cls.query.push(img)
    }
  }

  /** Splits every class again: the first `shots` images are support, the rest query. */
  function resplit(): void {
    for (const c of classes.value) {
      const all = [...c.support, ...c.query]
      c.support = all.slice(0, shots.value)
      c.query = all.slice(shots.value)
    }
  }

  function move(key: string, id: string, to: SetRow): void {
    const c = findClass(key)
    if (!c) return
    const img = [...c.support, ...c.query].find((x) => x.id === id)
    if (!img) return
    c.support = c.support.filter((x) => x.id !== id)
    c.query = c.query.filter((x) => x.id !== id)
    c[to].push(img)
  }

  /** Moves an image to another class (or row) by drag and drop. */
  function moveTo(id: string, key: string, row: SetRow): void {
    let img: FewshotImage | undefined
    for (const c of classes.value) {
      img ??= [...c.support, ...c.query].find((x) => x.id === id)
      c.support = c.support.filter((x) => x.id !== id)
      c.query = c.query.filter((x) => x.id !== id)
    }
    const target = findClass(key)
    if (img && target) target[row].push(img)
  }

  function removeImage(key: string, id: string): void {
    const c = findClass(key)
    if (!c) return
    c.support = c.support.filter((x) => x.id !== id)
    c.query = c.query.filter((x) => x.id !== id)
  }

  /**
   * Adds what images.add returned: into class `key`, or (no key) into the class named after each
   * image's folder, created when missing, so a folder of class sub-folders becomes classes.
   */
  function place(result: ImagesAddResult | null, key: string | null): void {
    failures.value = result?.failed ?? []
    if (!result) {
      error.value = useImagesStore().error
      return
    }
    error.value = null
    if (key) {
      const c = findClass(key)
      if (c) put(c, result.added.map(toImage))
      return
    }
    const groups = new Map<string, FewshotImage[]>()
    for (const e of result.added) {
      const name = e.folderLabel ?? 'images'
      groups.set(name, [...(groups.get(name) ?? []), toImage(e)])
    }
    const names = [...groups.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    const byPath = (a: FewshotImage, b: FewshotImage) => a.path.localeCompare(b.path, undefined, { numeric: true })
    for (const name of names) put(classes.value.find((c) => c.name === name) ?? addClass(name), groups.get(name)!.sort(byPath))
  }

  /** Dropped or picked files (uploaded first in browser mode); they join the image library too. */
  async function addFiles(files: PickedFile[], key: string | null): Promise<void> {
    if (!files.length) return
    busy.value = true
    try {
      place(await useImagesStore().addFiles(files), key)
    } finally {
      busy.value = false
    }
  }

  async function addPaths(paths: string[], key: string | null): Promise<void> {
    busy.value = true
    try {
      place(await useImagesStore().add(paths), key)
    } finally {
      busy.value = false
    }
  }

  /** Images already in the library (selected there, or dragged from it). */
  function addLibrary(ids: string[], key: string): void {
    const images = useImagesStore()
    const c = findClass(key)
    if (c) put(c, ids.flatMap((id) => (images.byId.get(id) ? [toImage(images.byId.get(id)!)] : [])))
  }

  // ---- adaptation ----

  function adaptArgs(modelPath: string): ArgsOf<'fewshot.adapt'> {
    return {
      modelPath,
      sets: { classes: classes.value.map((c) => ({ name: c.name.trim(), support: c.support.map((x) => x.path), query: c.query.map((x) => x.path) })) },
      method: method.value,
      steps: steps.value,
      innerRate: innerRate.value
    }
  }

  async function run(): Promise<string | null> {
    const model = useModelStore()
    if (!model.summary) return null
    const args = adaptArgs(model.summary.path)
    runs.value.push({ id: '', createdAt: new Date().toISOString(), status: 'running', modelPath: model.summary.path, args, losses: [], report: null, error: null, camBefore: null, camAfter: null })
    // The reactive record: trackJob may replay events that overtook the reply before it returns.
    const r = runs.value.at(-1)!
    try {
      const job = await trackJob(
        () => api.call('fewshot.adapt', args),
        (e) => {
          if (e.type === 'job.item') {
            const item = AdaptItem.safeParse(e.item)
            if (item.success) r.losses.push(item.data)
          } else if (e.type === 'job.done') {
            const report = AdaptReport.safeParse(e.result)
            r.report = report.success ? report.data : null
            r.status = report.success ? 'done' : 'failed'
            if (!report.success) r.error = { code: 'internal', message: `The engine's adaptation result was not understood: ${report.error.issues[0]?.message ?? ''}` }
          } else if (e.type === 'job.failed') Object.assign(r, { status: 'failed', error: e.error })
          else if (e.type === 'job.cancelled') r.status = 'cancelled'
        }
      )
      r.id = job.jobId
      activeRunId.value = job.jobId
      error.value = null
      return job.jobId
    } catch (err) {
      runs.value = runs.value.filter((x) => x !== r)
      error.value = asError(err)
      return null
    }
  }

  async function cancel(id: string): Promise<void> {
    await api.call('jobs.cancel', { jobId: id })
  }

  /** Query files of a run with their library image ids and class index (for Grad-CAM). */
  function queryIds(r: AdaptRun): { id: string; path: string; cls: number }[] {
    const images = useImagesStore()
    const byPath = new Map(images.entries.map((e) => [e.path, e.id]))
    for (const c of classes.value) for (const x of [...c.support, ...c.query]) byPath.set(x.path, x.id)
    return (r.report?.predictions ?? []).flatMap((p) => {
      const id = byPath.get(p.file)
      return id ? [{ id, path: p.file, cls: r.report!.classes.indexOf(p.trueClass) }] : []
    })
  }

  /**
   * Grad-CAM on every query image, with the original model (at its own top-1) and the adapted model
   * (at the image's true class), as two cam runs the compare view pairs up. Resolves when both end.
   */
  async function runCamPair(id: string): Promise<boolean> {
    const r = runs.value.find((x) => x.id === id)
    if (!r?.report) return false
    const cam = useCamStore()
    const ready = (runId: string | null) => cam.runs.some((x) => x.id === runId && x.status !== 'failed' && x.status !== 'cancelled')
    if (ready(r.camBefore) && ready(r.camAfter)) {
      // Already computed (or computing): show those.
      cam.activeRunId = r.camBefore
      cam.compareRunId = r.camAfter
      return true
    }
    camBusy.value = true
    try {
      const queries = queryIds(r)
      if (!queries.length) return false
      const before = await api.call('models.open', { path: r.report.model })
      const after = await api.call('models.open', { path: r.report.adaptedModel })
      r.camBefore = await cam.startGroups({ modelId: before.id, modelPath: before.path, target: 'top1', groups: [{ imageIds: queries.map((q) => q.id), target: 'top1' }] })
      r.camAfter = await cam.startGroups({
        modelId: after.id,
        modelPath: after.path,
        target: 'class',
        groups: r.report.classes.map((_, n) => ({ imageIds: queries.filter((q) => q.cls === n).map((q) => q.id), target: n }))
      })
      cam.activeRunId = r.camBefore
      cam.compareRunId = r.camAfter
      error.value = null
      return true
    } catch (err) {
      error.value = asError(err)
      return false
    } finally {
      camBusy.value = false
    }
  }

  /** Writes the adapted model (model.onnx + predictions.json) into a folder: a copy of what the run wrote. */
  async function saveModel(id: string, dir: string): Promise<string | null> {
    const r = runs.value.find((x) => x.id === id)
    if (!r) return null
    busy.value = true
    try {
      const saved = await api.call('outputs.save', { jobId: r.id, dir })
      message.value = saved.main
      error.value = null
      return saved.main
    } catch (err) {
      error.value = asError(err)
      return null
    } finally {
      busy.value = false
    }
  }

  /**
   * Before a workspace save: writes each finished run's adapted model into the workspace folder
   * (the job's own copy lives in a temporary folder), so the reopened runs can still open it and
   * run Grad-CAM on it. A run whose copy cannot be written keeps its temporary path.
   */
  async function keepModelsIn(dir: string): Promise<void> {
    const root = dir.replace(/[\\/]+$/, '')
    for (const [i, r] of runs.value.entries()) {
      if (r.status !== 'done' || !r.report || r.report.adaptedModel.startsWith(`${root}/`)) continue
      const saved = await saveModel(r.id, `${root}/fewshot-models/run-${i + 1}`)
      if (saved) r.report.adaptedModel = saved
    }
    message.value = null
  }

  // ---- meta-training ----

  async function metaTrain(args: ArgsOf<'fewshot.metaTrain'>): Promise<string | null> {
    metaRuns.value.push({ id: '', createdAt: new Date().toISOString(), status: 'running', args: { ...args }, items: [], result: null, error: null })
    const r = metaRuns.value.at(-1)!
    try {
      const job = await trackJob(
        () => api.call('fewshot.metaTrain', args),
        (e) => {
          if (e.type === 'job.item') {
            const item = MetaTrainItem.safeParse(e.item)
            if (item.success) r.items.push(item.data)
          } else if (e.type === 'job.done') {
            // The history repeats the streamed items: keep the rest.
            const { history: _, ...result } = e.result as Record<string, unknown>
            Object.assign(r, { status: 'done', result })
          }
          else if (e.type === 'job.failed') Object.assign(r, { status: 'failed', error: e.error })
          else if (e.type === 'job.cancelled') r.status = 'cancelled'
        }
      )
      r.id = job.jobId
      activeMetaId.value = job.jobId
      error.value = null
      return job.jobId
    } catch (err) {
      metaRuns.value = metaRuns.value.filter((x) => x !== r)
      error.value = asError(err)
      return null
    }
  }

  // ---- workspace ----

  function snapshot(): FewshotWorkspace {
    const file = (x: FewshotImage) => ({ path: x.path })
    return {
      classes: classes.value.map((c) => ({ name: c.name, support: c.support.map(file), query: c.query.map(file) })),
      shots: shots.value,
      method: method.value,
      steps: steps.value,
      innerRate: innerRate.value,
      runs: runs.value.map((r) => ({ ...r, args: { ...r.args }, losses: [...r.losses], status: r.status === 'running' ? 'cancelled' : r.status })),
      metaRuns: metaRuns.value.map((r) => ({ ...r, items: [...r.items], status: r.status === 'running' ? 'cancelled' : r.status }))
    }
  }

  /** Reopens a saved board and its runs; images are re-added to the library to get their ids. */
  async function restore(saved: FewshotWorkspace | undefined): Promise<void> {
    if (!saved) {
      classes.value = []
      runs.value = []
      metaRuns.value = []
      activeRunId.value = activeMetaId.value = null
      return
    }
    const images = useImagesStore()
    const paths = saved.classes.flatMap((c) => [...c.support, ...c.query].map((x) => x.path))
    const known = new Map(images.entries.map((e) => [e.path, e]))
    const missing = paths.filter((p) => !known.has(p))
    if (missing.length) for (const e of (await images.add(missing))?.added ?? []) known.set(e.path, e)
    const image = (x: { path: string }) => (known.has(x.path) ? [toImage(known.get(x.path)!)] : [])
    classes.value = saved.classes.map((c) => ({ key: newKey(), name: c.name, support: c.support.flatMap(image), query: c.query.flatMap(image) }))
    shots.value = saved.shots
    method.value = saved.method
    steps.value = saved.steps
    innerRate.value = saved.innerRate
    runs.value = saved.runs
    metaRuns.value = saved.metaRuns
    activeRunId.value = runs.value.at(-1)?.id ?? null
    activeMetaId.value = metaRuns.value.at(-1)?.id ?? null
  }

  return {
    classes, shots, method, steps, innerRate, runs, activeRunId, activeRun, metaRuns, activeMetaId, activeMeta, error, failures, busy, camBusy, message, running,
    issues, boardIssue, canRun,
    addClass, removeClass, resplit, move, moveTo, removeImage, addFiles, addPaths, addLibrary,
    run, cancel, runCamPair, saveModel, keepModelsIn, metaTrain, snapshot, restore
  }
})
