import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { ApiErrorShape } from '../../../shared/errors'
import { FeatureSuggestion, type FeaturesResult } from '../../../shared/fewshot-features'
import { api } from '../api'
import { parsedInto, runJob, type JobStatus } from '../lib/job-runner'
import { modelDefaults, preprocessArgs } from '../lib/preprocess'
import { useCamStore } from './cam'
import { asError } from './errors'
import { useFewshotBoardStore } from './fewshot-board'
import { useModelStore } from './model'

/** Support images a class needs for "Suggest": one is left out, the others make its centroid. */
export const MIN_SUGGEST_SUPPORT = 2

/**
 * The feature tensor adaptation embeds with, for the open model: the candidates (fewshot.features),
 * the user's pick (null: Metascope's automatic choice, not sent), and the last "Suggest" ranking
 * (fewshot.suggestFeatures on the board's support images). Nothing switches by itself: a ranking
 * is only shown until the user applies a row.
 */
export const useFewshotFeaturesStore = defineStore('fewshot-features', () => {
  const model = useModelStore()
  const board = useFewshotBoardStore()
  const listed = ref<{ modelPath: string; result: FeaturesResult } | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const chosen = ref<string | null>(null)
  type Suggestion = { modelPath: string; jobId: string | null; status: JobStatus; result: FeatureSuggestion | null; error: ApiErrorShape | null }
  const suggestion = ref<Suggestion | null>(null)

  const path = computed(() => model.summary?.path ?? null)
  const candidates = computed(() => (listed.value && listed.value.modelPath === path.value ? listed.value.result.candidates : []))
  const automatic = computed(() => candidates.value.find((c) => c.auto) ?? null)
  /** The tensor the next run uses (the automatic one unless the user picked another). */
  const current = computed(() => candidates.value.find((c) => c.tensor === chosen.value) ?? automatic.value)
  /** Why "Suggest" cannot run yet (an i18n key under fewshot.features), or null. */
  const suggestBlock = computed(() => {
    if (!candidates.value.length) return 'noCandidates'
    if (board.classes.length < 2) return 'needClasses'
    if (board.classes.some((c) => c.support.length < MIN_SUGGEST_SUPPORT)) return 'needSupport'
    if (suggestion.value?.status === 'running') return 'running'
    return null
  })
  const shown = computed(() => (suggestion.value && suggestion.value.modelPath === path.value ? suggestion.value : null))
  /** fewshot.adapt's `features` field: absent for the automatic choice. */
  const args = computed(() => (chosen.value && chosen.value !== automatic.value?.tensor && current.value ? { features: chosen.value } : {}))

  /** The model panel's preprocessing for the open model, as fewshot.adapt gets it. */
  function preprocessing() {
    const s = model.summary!
    return preprocessArgs(useCamStore().preprocessOf(s.path), modelDefaults(s).dynamicSize)
  }

  async function load(): Promise<void> {
    const p = path.value
    error.value = null
    if (!p) return
    try {
      const { size } = preprocessing()
      const result = await api.call('fewshot.features', { modelPath: p, ...(size ? { size } : {}) })
      if (path.value === p) listed.value = { modelPath: p, result }
    } catch (err) {
      // A model without a linear head cannot be adapted: the run says why; the picker stays empty.
      if (path.value === p) error.value = asError(err)
    }
  }

  async function suggest(): Promise<void> {
    const p = path.value
    if (!p || suggestBlock.value) return
    const sets = { classes: board.classes.map((c) => ({ name: c.name.trim(), support: c.support.map((x) => x.path) })) }
    suggestion.value = { modelPath: p, jobId: null, status: 'running', result: null, error: null }
    const s = suggestion.value
    try {
      const job = await runJob(s, () => api.call('fewshot.suggestFeatures', { modelPath: p, sets, ...preprocessing() }), {
        done: parsedInto(FeatureSuggestion, (r) => (s.result = r))
      })
      s.jobId = job.jobId
      await job.end
    } catch (err) {
      Object.assign(s, { status: 'failed', error: asError(err) })
    }
  }

  /** Uses `tensor` for the next runs (the automatic one clears the pick). */
  function apply(tensor: string): void {
    chosen.value = tensor === automatic.value?.tensor ? null : tensor
  }

  // Another model: its own candidates, no pick and no ranking carried over.
  watch(
    path,
    () => {
      chosen.value = null
      void load()
    },
    { immediate: true }
  )

  return { candidates, automatic, current, chosen, error, suggestion: shown, suggestBlock, args, load, suggest, apply }
})
