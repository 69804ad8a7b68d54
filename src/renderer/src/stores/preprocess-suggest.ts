import { defineStore } from 'pinia'
import { ref } from 'vue'
import { PreprocessSuggestion } from '../../../shared/preprocess'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { parsedInto, runJob, type JobStatus } from '../lib/job-runner'
import { preprocessArgs } from '../lib/preprocess'
import { asError } from './errors'
import { useCamStore } from './cam'
import { useModelStore } from './model'

/** The most images one suggestion scores (models.suggestPreprocess takes up to 256). */
const MAX_IMAGES = 256

/** Up to `max` ids spread evenly over the list, so a library sorted by folder keeps every class. */
function spreadSample(ids: string[], max = MAX_IMAGES): string[] {
  if (ids.length <= max) return ids
  return Array.from({ length: max }, (_, i) => ids[Math.floor((i * ids.length) / max)])
}

/**
 * "Suggest from my images": one models.suggestPreprocess job for the open model, scoring every
 * normalisation on the user's images with the resize and channel order chosen now. The result is
 * only shown; the user applies a row (PreprocessSuggest.vue), nothing switches by itself.
 */
export const usePreprocessSuggestStore = defineStore('preprocessSuggest', () => {
  type Suggestion = { modelId: string; jobId: string | null; status: JobStatus; result: PreprocessSuggestion | null; error: ApiErrorShape | null }
  const current = ref<Suggestion | null>(null)

  async function run(imageIds: string[]): Promise<void> {
    const model = useModelStore()
    const s = model.summary
    if (!s || !imageIds.length) return
    const { normalization: _, ...others } = preprocessArgs(useCamStore().preprocessOf(s.path), s.preprocess.dynamicSize)
    current.value = { modelId: s.id, jobId: null, status: 'running', result: null, error: null }
    // The reactive record: a later run replaces it, and this one then no longer shows.
    const c = current.value
    try {
      const job = await runJob(c, () => api.call('models.suggestPreprocess', { modelId: s.id, imageIds: spreadSample(imageIds), ...others }), {
        done: parsedInto(PreprocessSuggestion, (r) => (c.result = r))
      })
      c.jobId = job.jobId
      await job.end
    } catch (err) {
      Object.assign(c, { status: 'failed', error: asError(err) })
    }
  }

  return { current, run }
})
