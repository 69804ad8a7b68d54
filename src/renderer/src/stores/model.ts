import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import { ConversionCheck, type DemoInfo, type ModelInspection, type ModelSummary } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { useCamStore } from './cam'
import { asError } from './errors'
import { isConverted } from '../../../shared/registry/model-formats'
import { parsedInto, runJob } from '../lib/job-runner'
import { callWithProgress } from '../lib/call-progress'
import type { ModelOpenPhase } from '../../../shared/events'

const RECENT_KEY = 'metascope.recentModels'

export const useModelStore = defineStore('model', () => {
  const summary = ref<ModelSummary | null>(null)
  const inspection = ref<ModelInspection | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const busy = ref(false)
  /** The model being opened: its path, the phase the engine last reported (then the layer listing), since when. */
  type Opening = { path: string; phase: ModelOpenPhase | 'inspecting'; startedAt: number }
  const opening = ref<Opening | null>(null)
  const demo = ref<DemoInfo | null>(null)
  const recent = ref<string[]>(JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]') as string[])
  /** A TensorFlow.js model's conversion check, for the open model only. */
  type Check = { modelId: string; jobId: string | null; status: 'running' | 'done' | 'failed' | 'cancelled'; result: ConversionCheck | null; error: ApiErrorShape | null }
  const check = ref<Check | null>(null)

  const labels = computed(() => summary.value?.labels ?? null)
  /** Folder names that stand for each class (the demo's metadata), else the labels themselves. */
  const labelFolders = computed<string[] | null>(() => {
    const raw = summary.value?.metadata['metascope.label_folders']
    if (raw) {
      try {
        return JSON.parse(raw) as string[]
      } catch {
        return labels.value
      }
    }
    return labels.value
  })

  function remember(path: string): void {
    recent.value = [path, ...recent.value.filter((p) => p !== path)].slice(0, 8)
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent.value))
  }

  /**
   * A failed open keeps the model that was already open: nothing the user had is lost. Opening another
   * model moves the library's predictions and the run settings to it (see the cam store's followModel),
   * unless `follow` is false (a workspace brings its own runs).
   */
  async function open(path: string, { follow = true } = {}): Promise<boolean> {
    busy.value = true
    const mine = reactive<Opening>({ path, phase: 'reading', startedAt: Date.now() })
    opening.value = mine
    try {
      const s = await callWithProgress('models.open', { path }, (e) => (mine.phase = e.phase as ModelOpenPhase))
      mine.phase = 'inspecting'
      const i = await api.call('models.inspect', { modelId: s.id })
      const previous = summary.value
      summary.value = s
      inspection.value = i
      error.value = null
      remember(s.path)
      check.value = null
      // A converted model is checked against TensorFlow.js itself at once, on probe inputs (a job: the model is usable meanwhile).
      if (isConverted(s.format)) void checkConversion()
      if (follow) void useCamStore().followModel(previous?.path ?? null, previous?.labels ?? null)
      return true
    } catch (err) {
      error.value = asError(err)
      return false
    } finally {
      busy.value = false
      if (opening.value === mine) opening.value = null
    }
  }

  async function loadDemo(): Promise<DemoInfo> {
    demo.value ??= await api.call('demo.info', {})
    return demo.value
  }

  /** Runs the conversion check of the open model: on probe inputs, or on these added images. */
  async function checkConversion(imageIds?: string[]): Promise<void> {
    const s = summary.value
    if (!s || !isConverted(s.format)) return
    check.value = { modelId: s.id, jobId: null, status: 'running', result: null, error: null }
    // The reactive record (a later check replaces it; this one then no longer shows).
    const c = check.value
    try {
      const job = await runJob(c, () => api.call('models.checkConversion', { modelId: s.id, ...(imageIds?.length ? { imageIds: imageIds.slice(0, 64) } : {}) }), {
        done: parsedInto(ConversionCheck, (r) => (c.result = r))
      })
      c.jobId = job.jobId
      // Callers may wait for the verdict.
      await job.end
    } catch (err) {
      Object.assign(c, { status: 'failed', error: asError(err) })
    }
  }

  return { summary, inspection, error, busy, opening, demo, recent, labels, labelFolders, check, open, loadDemo, checkConversion }
})
