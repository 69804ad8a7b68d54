import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { MetaTrainItem } from '../../../shared/fewshot'
import { api } from '../api'
import { runJob, type JobStatus } from '../lib/job-runner'
import { asError } from './errors'
import { useFewshotViewStore } from './fewshot-view'

export interface MetaRun {
  id: string
  createdAt: string
  status: JobStatus
  args: Record<string, unknown>
  items: MetaTrainItem[]
  result: Record<string, unknown> | null
  error: ApiErrorShape | null
}

/** Meta-training runs of the built-in Conv-4, with their streamed curves and results. */
export const useMetaTrainStore = defineStore('meta-train', () => {
  const metaRuns = ref<MetaRun[]>([])
  const activeMetaId = ref<string | null>(null)

  const activeMeta = computed(() => metaRuns.value.find((r) => r.id === activeMetaId.value) ?? null)

  /** Starts meta-training; resolves with the job id (null when the call was refused: see the view's error). */
  async function metaTrain(args: ArgsOf<'fewshot.metaTrain'>): Promise<string | null> {
    const view = useFewshotViewStore()
    const r = reactive<MetaRun>({ id: '', createdAt: new Date().toISOString(), status: 'running', args: { ...args }, items: [], result: null, error: null })
    metaRuns.value.push(r)
    try {
      const job = await runJob(r, () => api.call('fewshot.metaTrain', args), {
        item: (x) => {
          const item = MetaTrainItem.safeParse(x)
          if (item.success) r.items.push(item.data)
        },
        done: (x) => {
          // The history repeats the streamed items: keep the rest.
          const { history: _, ...result } = x as Record<string, unknown>
          r.result = result
        }
      })
      r.id = job.jobId
      activeMetaId.value = job.jobId
      view.error = null
      return job.jobId
    } catch (err) {
      metaRuns.value = metaRuns.value.filter((x) => x !== r)
      view.error = asError(err)
      return null
    }
  }

  return { metaRuns, activeMeta, activeMetaId, metaTrain }
})
