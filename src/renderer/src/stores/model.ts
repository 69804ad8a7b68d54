import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ModelSummary } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { asError } from './errors'

export const useModelStore = defineStore('model', () => {
  const summary = ref<ModelSummary | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const busy = ref(false)

  /** A failed open keeps the model that was already open: nothing the user had is lost. */
  async function open(path: string): Promise<void> {
    busy.value = true
    try {
      summary.value = await api.call('models.open', { path })
      error.value = null
    } catch (err) {
      error.value = asError(err)
    } finally {
      busy.value = false
    }
  }

  return { summary, error, busy, open }
})
