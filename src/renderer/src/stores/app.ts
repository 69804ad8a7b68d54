import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { asError } from './errors'

export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const transport = api.transport

  async function load(): Promise<void> {
    try {
      info.value = await api.call('app.info', {})
      error.value = null
    } catch (err) {
      error.value = asError(err)
    }
  }

  return { info, error, transport, load }
})
