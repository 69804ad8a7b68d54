import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { MetaTrainItem } from '../../../shared/fewshot'
import { api } from '../api'
import { runJob, type JobStatus } from '../lib/job-runner'
import type { TrackedJob } from '../lib/track-job'
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
    return (await start(args))?.jobId ?? null
  }

  async function start(args: ArgsOf<'fewshot.metaTrain'>): Promise<TrackedJob | null> {
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
          // The history repeats the streamed items; a resumed run's earlier iterations come only from it (no support losses).
          const { history, ...result } = x as Record<string, unknown>
          const streamed = new Set(r.items.map((i) => i.iteration))
          const earlier = (Array.isArray(history) ? history : []).flatMap((h) => {
            const item = MetaTrainItem.safeParse({ supportLoss: [], ...(h as object) })
            return item.success && !streamed.has(item.data.iteration) ? [item.data] : []
          })
          if (earlier.length) r.items = [...earlier, ...r.items]
          r.result = result
        }
      })
      r.id = job.jobId
      activeMetaId.value = job.jobId
      view.error = null
      return job
    } catch (err) {
      metaRuns.value = metaRuns.value.filter((x) => x !== r)
      view.error = asError(err)
      return null
    }
  }

  /**
   * Writes a finished run's network as ONNX without training further: the same run resumed from its
   * checkpoint up to the iterations it reached, with `modelOut` set and no test episodes. Resolves
   * with the written file (null when the call was refused or the job did not finish: see its record).
   */
  async function writeModel(run: MetaRun, modelOut: string): Promise<string | null> {
    const iterations = Number(run.result?.iterations ?? 0)
    const job = await start({ ...(run.args as ArgsOf<'fewshot.metaTrain'>), iterations, resume: true, evalEpisodes: 0, modelOut })
    if (!job) return null
    await job.end
    const model = metaRuns.value.find((x) => x.id === job.jobId)?.result?.model
    return typeof model === 'string' ? model : null
  }

  return { metaRuns, activeMeta, activeMetaId, metaTrain, writeModel }
})

