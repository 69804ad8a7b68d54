import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { ADAPT_DEFAULTS, AdaptItem, AdaptReport, type FewshotWorkspace } from '../../../shared/fewshot'
import { api } from '../api'
import { runJob, type JobStatus } from '../lib/job-runner'
import { asError } from './errors'
import { useFewshotBoardStore } from './fewshot-board'
import { useFewshotViewStore } from './fewshot-view'
import { useModelStore } from './model'

type AdaptMethodName = FewshotWorkspace['method']

export interface AdaptRun {
  id: string
  createdAt: string
  status: JobStatus
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

/** Adaptation defaults: the fewshot.adapt call's (AdaptArgs in src/shared/fewshot.ts). */

/** Adaptation of the open model to the board's classes: the method and its settings, and every run with its streamed losses and report. */
export const useAdaptRunsStore = defineStore('fewshot-runs', () => {
  const method = ref<AdaptMethodName>(ADAPT_DEFAULTS.method)
  const steps = ref(ADAPT_DEFAULTS.steps)
  const innerRate = ref(ADAPT_DEFAULTS.innerRate)
  const runs = ref<AdaptRun[]>([])
  const activeRunId = ref<string | null>(null)

  const activeRun = computed(() => runs.value.find((r) => r.id === activeRunId.value) ?? null)
  const running = computed(() => runs.value.some((r) => r.status === 'running'))
  const canRun = computed(() => useFewshotBoardStore().ready && !!useModelStore().summary && !running.value)

  function adaptArgs(modelPath: string): ArgsOf<'fewshot.adapt'> {
    return {
      modelPath,
      sets: { classes: useFewshotBoardStore().classes.map((c) => ({ name: c.name.trim(), support: c.support.map((x) => x.path), query: c.query.map((x) => x.path) })) },
      method: method.value,
      steps: steps.value,
      innerRate: innerRate.value
    }
  }

  /** Adapts the open model to the board; resolves with the job id (null when the call was refused: see the view's error). */
  async function run(): Promise<string | null> {
    const model = useModelStore()
    const view = useFewshotViewStore()
    if (!model.summary) return null
    const args = adaptArgs(model.summary.path)
    const r = reactive<AdaptRun>({ id: '', createdAt: new Date().toISOString(), status: 'running', modelPath: model.summary.path, args, losses: [], report: null, error: null, camBefore: null, camAfter: null })
    runs.value.push(r)
    try {
      const job = await runJob(r, () => api.call('fewshot.adapt', args), {
        item: (x) => {
          const item = AdaptItem.safeParse(x)
          if (item.success) r.losses.push(item.data)
        },
        done: (x) => {
          const report = AdaptReport.safeParse(x)
          r.report = report.success ? report.data : null
          if (!report.success) return { code: 'internal', message: `The engine's adaptation result was not understood: ${report.error.issues[0]?.message ?? ''}` }
        }
      })
      r.id = job.jobId
      activeRunId.value = job.jobId
      view.error = null
      return job.jobId
    } catch (err) {
      runs.value = runs.value.filter((x) => x !== r)
      view.error = asError(err)
      return null
    }
  }

  return { method, steps, innerRate, runs, activeRunId, activeRun, running, canRun, run }
})
