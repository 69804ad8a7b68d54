import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { AdapterItem, AdapterResult, type AdapterRecord } from '../../../shared/fewshot-adapter'
import { api } from '../api'
import { parsedInto, runJob, type JobStatus } from '../lib/job-runner'
import { modelDefaults, preprocessArgs } from '../lib/preprocess'
import { useCamStore } from './cam'
import { asError } from './errors'
import { useFewshotFeaturesStore } from './fewshot-features'
import { useModelStore } from './model'

/** One "Learn an adapter" run (fewshot.adapter): what was sent, the streamed iterations and the result. */
export interface AdapterRun {
  id: string
  status: JobStatus
  modelPath: string
  args: ArgsOf<'fewshot.adapter'>
  items: AdapterItem[]
  result: AdapterResult | null
  error: ApiErrorShape | null
}

/** What an adapter file says it was trained on (fewshot.adapterInfo), for the path it was read from. */
export interface AdapterInfo {
  path: string
  record: AdapterRecord | null
  error: ApiErrorShape | null
}

/**
 * The feature adapter in the Few-shot view (docs/fewshot-adapt.md, "Meta-training an adapter"):
 * learning one from a labelled folder for the open model, and the file the next adaptation reads its
 * features through. Nothing is used until the user ticks "Adapt through adapter"; the file's own
 * header (its features tensor) is read and shown as soon as a path is given.
 */
export const useFewshotAdapterStore = defineStore('fewshot-adapter', () => {
  const run = ref<AdapterRun | null>(null)
  /** A refused fewshot.adapter call (a bad folder, output file or setting): no job started. */
  const callError = ref<ApiErrorShape | null>(null)
  const use = ref(false)
  const path = ref('')
  const info = ref<AdapterInfo | null>(null)

  const running = computed(() => run.value?.status === 'running')
  const chosen = computed(() => path.value.trim())
  /** fewshot.adapt's `adapter` field: only when ticked and given. */
  const args = computed(() => (use.value && chosen.value ? { adapter: chosen.value } : {}))
  /** The header of the chosen file, while it is the one shown. */
  const current = computed(() => (info.value && info.value.path === chosen.value ? info.value : null))

  async function inspect(): Promise<void> {
    const p = chosen.value
    if (!p) {
      info.value = null
      return
    }
    try {
      const record = await api.call('fewshot.adapterInfo', { path: p })
      if (chosen.value === p) info.value = { path: p, record, error: null }
    } catch (err) {
      if (chosen.value === p) info.value = { path: p, record: null, error: asError(err) }
    }
  }

  // A typed path is read once typing pauses; ticking the box reads it at once.
  let timer: ReturnType<typeof setTimeout> | undefined
  watch(chosen, () => {
    clearTimeout(timer)
    timer = setTimeout(() => void inspect(), 300)
  })
  watch(use, (on) => {
    if (on && !current.value) void inspect()
  })

  /** Starts learning an adapter for the open model, embedding with the Features picker's tensor and the model panel's preprocessing. */
  async function learn(form: Pick<ArgsOf<'fewshot.adapter'>, 'folder' | 'out' | 'iterations' | 'ways' | 'shots' | 'queries'>): Promise<string | null> {
    const summary = useModelStore().summary
    if (!summary) return null
    const args: ArgsOf<'fewshot.adapter'> = {
      modelPath: summary.path,
      ...form,
      ...useFewshotFeaturesStore().args,
      ...preprocessArgs(useCamStore().preprocessOf(summary.path), modelDefaults(summary).dynamicSize)
    }
    const r = reactive<AdapterRun>({ id: '', status: 'running', modelPath: summary.path, args, items: [], result: null, error: null })
    const previous = run.value
    run.value = r
    try {
      const job = await runJob(r, () => api.call('fewshot.adapter', args), {
        item: (x) => {
          const item = AdapterItem.safeParse(x)
          if (item.success) r.items.push(item.data)
        },
        done: parsedInto(AdapterResult, (res) => (r.result = res))
      })
      r.id = job.jobId
      callError.value = null
      return job.jobId
    } catch (err) {
      // Refused before any job: the last run stays on show, the problem above it.
      run.value = previous
      callError.value = asError(err)
      return null
    }
  }

  /** Uses `file` (a learnt adapter) for the next adaptations. */
  function useFile(file: string): void {
    // The watchers read its header.
    path.value = file
    use.value = true
  }

  return { run, callError, use, path, info, current, running, args, learn, inspect, useFile }
})
