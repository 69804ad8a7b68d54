import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import { AUDIT_METRICS, AuditImage, AuditResult, type AuditArgs, type AuditCamMethod, type AuditMetric, type AuditProgress, type WorstCase } from '../../../shared/audit'
import type { CamItem } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { cellImages } from '../components/audit/plot-math'
import { runJob, type JobStatus } from '../lib/job-runner'
import { trackJob } from '../lib/track-job'
import { asError } from './errors'
import { useImagesStore } from './images'
import { useModelStore } from './model'
import { useCamStore } from './cam'
import { modelDefaults, preprocessArgs } from '../lib/preprocess'

export interface AuditRun {
  id: string
  status: JobStatus
  /** What was sent: "Save report" sends it again with `out` (the same settings and files give the same report). */
  args: AuditArgs
  phase: AuditProgress['phase'] | null
  /** Per-image records as they stream in (the live accuracy and the confusion-cell drill-down read them). */
  items: AuditImage[]
  result: AuditResult | null
  error: ApiErrorShape | null
}

/** What the drill-down shows: a worst-case list (heatmaps from the report), or a confusion cell (heatmaps computed on demand). */
export type Drill =
  | { kind: 'worst'; title: string; cases: WorstCase[]; index: number }
  | { kind: 'cell'; truth: number; predicted: number; images: AuditImage[]; items: CamItem[]; status: 'running' | 'done' | 'failed'; error: ApiErrorShape | null }

const DIR_KEY = 'metascope.auditDir'
const OUT_KEY = 'metascope.auditOut'

/** The Audit view: the form (folder, methods, metrics), one audit run at a time, its results and drill-downs. */
export const useAuditStore = defineStore('audit', () => {
  const imagesDir = ref(localStorage.getItem(DIR_KEY) ?? '')
  const out = ref('')
  /** A labels file (one class name per line) for a model that does not name its classes. */
  const labelsPath = ref('')
  /** The user's class per folder, for folders the model's labels do not name (chosen in place after the engine listed them). */
  const folderClasses = ref<Record<string, number> | null>(null)
  // A map belongs to one folder of one model.
  watch([imagesDir, () => useModelStore().summary?.path], () => (folderClasses.value = null))
  /** K/N: audit only part K of N (merged later from the CLI); empty: the whole folder. */
  const shard = ref('')
  const saveDir = ref(localStorage.getItem(OUT_KEY) ?? '')
  const methods = ref<AuditCamMethod[]>(['gradcam'])
  const metrics = ref<AuditMetric[]>([...AUDIT_METRICS])
  const baseline = ref<'blur' | 'mean'>('blur')
  const steps = ref(20)
  const sanityImages = ref(4)
  const batch = ref(8)
  const runs = ref<AuditRun[]>([])
  const error = ref<ApiErrorShape | null>(null)
  const saving = ref(false)
  const saved = ref<string | null>(null)
  const drill = ref<Drill | null>(null)

  const run = computed(() => runs.value.at(-1) ?? null)
  const running = computed(() => run.value?.status === 'running')
  const canRun = computed(() => !!useModelStore().summary && !!imagesDir.value.trim() && methods.value.length > 0 && metrics.value.length > 0 && !running.value && !saving.value)

  function preprocessFor(modelPath: string) {
    const summary = useModelStore().summary
    return preprocessArgs(useCamStore().preprocessOf(modelPath), summary ? modelDefaults(summary).dynamicSize : false)
  }

  function auditArgs(modelPath: string): AuditArgs {
    return {
      modelPath,
      imagesDir: imagesDir.value.trim(),
      ...(out.value.trim() ? { out: out.value.trim() } : {}),
      ...(labelsPath.value.trim() ? { labelsPath: labelsPath.value.trim() } : {}),
      ...(shard.value.trim() ? { shard: shard.value.trim() } : {}),
      ...(folderClasses.value ? { folderClasses: { ...folderClasses.value } } : {}),
      settings: {
        methods: [...methods.value],
        metrics: [...metrics.value],
        baseline: baseline.value,
        steps: steps.value,
        sanityImages: sanityImages.value,
        batch: batch.value,
        // The model panel's preprocessing, as the heatmaps use it (channel order and size included).
        ...preprocessFor(modelPath)
      }
    }
  }

  /** Starts an audit of the open model over the folder; resolves with the job id (null when the call was refused: see `error`). */
  async function start(): Promise<string | null> {
    const model = useModelStore()
    if (!model.summary) return null
    localStorage.setItem(DIR_KEY, imagesDir.value.trim())
    const args = auditArgs(model.summary.path)
    const r = reactive<AuditRun>({ id: '', status: 'running', args, phase: null, items: [], result: null, error: null })
    runs.value.push(r)
    saved.value = null
    drill.value = null
    try {
      const job = await runJob(r, () => api.call('audit.run', args), {
        progress: (e) => (r.phase = e.phase as AuditProgress['phase']),
        item: (x) => {
          const item = AuditImage.safeParse(x)
          if (item.success) r.items.push(item.data)
        },
        done: (x) => {
          const result = AuditResult.safeParse(x)
          r.result = result.success ? result.data : null
          if (!result.success) return { code: 'internal', message: `The engine's audit result was not understood: ${result.error.issues[0]?.path.join('.')} ${result.error.issues[0]?.message ?? ''}` }
        }
      })
      r.id = job.jobId
      error.value = null
      return job.jobId
    } catch (err) {
      runs.value = runs.value.filter((x) => x !== r)
      error.value = asError(err)
      return null
    }
  }

  /**
   * Writes report.html (with audit.json and the CSVs) into a folder on the engine's disk: a copy of
   * what the run already wrote, nothing computed again.
   */
  async function saveReport(dir: string): Promise<string | null> {
    const r = run.value
    if (!r?.result || !dir.trim()) return null
    localStorage.setItem(OUT_KEY, dir.trim())
    saving.value = true
    try {
      saved.value = (await api.call('outputs.save', { jobId: r.id, dir: dir.trim() })).main
      error.value = null
      return saved.value
    } catch (err) {
      error.value = asError(err)
      return null
    } finally {
      saving.value = false
    }
  }

  function openWorst(title: string, cases: WorstCase[], index = 0): void {
    drill.value = { kind: 'worst', title, cases, index }
  }

  /**
   * A confusion cell's images with their heatmaps: the images join the library (so the engine serves
   * them), then the audit's first method runs on them at the audit's layer, for the predicted class.
   */
  async function openCell(truth: number, predicted: number): Promise<void> {
    const r = run.value
    if (!r?.result) return
    const images = cellImages(r.items, truth, predicted)
    drill.value = { kind: 'cell', truth, predicted, images, items: [], status: 'running', error: null }
    const d = drill.value
    if (!images.length) {
      d.status = 'done'
      return
    }
    try {
      const root = r.result.dataset.dir.replace(/[\\/]+$/, '')
      const added = await useImagesStore().add(images.map((im) => `${root}/${im.path}`))
      if (!added) throw useImagesStore().error ?? new Error('the images could not be added')
      const model = await api.call('models.open', { path: r.args.modelPath })
      const job = await trackJob(
        () =>
          api.call('cam.run', {
            modelId: model.id,
            imageIds: added.added.map((e) => e.id),
            method: r.args.settings?.methods?.[0] ?? 'gradcam',
            layer: r.result!.model.layer,
            target: 'top1'
          }),
        (e) => {
          if (e.type === 'job.item') d.items.push(e.item as CamItem)
        }
      )
      const end = await job.end
      if (end.type === 'job.failed') throw end.error
      d.status = 'done'
    } catch (err) {
      d.status = 'failed'
      d.error = asError(err)
    }
  }

  /** For a workspace save: each finished audit copied into `root`/audits/audit-N (nothing recomputed). */
  async function keepIn(root: string): Promise<{ dir: string; args: AuditArgs }[]> {
    const kept: { dir: string; args: AuditArgs }[] = []
    for (const [i, r] of runs.value.entries()) {
      if (r.status !== 'done' || !r.result) continue
      const saved = await api.call('outputs.save', { jobId: r.id, dir: `${root.replace(/[\\/]+$/, '')}/audits/audit-${i + 1}` })
      kept.push({ dir: saved.dir, args: r.args })
    }
    return kept
  }

  /** Reopens a workspace's saved audits as finished runs (read back, not recomputed). */
  async function restore(kept: { dir: string; args: AuditArgs }[] | undefined): Promise<void> {
    const reopened: AuditRun[] = []
    for (const a of kept ?? []) {
      const r = await api.call('audit.open', { dir: a.dir })
      reopened.push({ id: r.jobId, status: 'done', args: a.args, phase: 'report', items: r.images, result: r.result, error: null })
    }
    runs.value = reopened
    drill.value = null
    saved.value = null
  }

  return { labelsPath, shard, folderClasses, keepIn, restore,
    imagesDir, out, saveDir, methods, metrics, baseline, steps, sanityImages, batch, runs, run, running, canRun, error, saving, saved, drill,
    start, saveReport, openWorst, openCell
  }
})
