import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ImageEntry, ImagesAddResult } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { asError } from './errors'

export const useImagesStore = defineStore('images', () => {
  const entries = ref<ImageEntry[]>([])
  const failed = ref<ImagesAddResult['failed']>([])
  const error = ref<ApiErrorShape | null>(null)
  const busy = ref(false)

  async function add(paths: string[]): Promise<void> {
    if (!paths.length) return
    busy.value = true
    try {
      const result = await api.call('images.add', { paths })
      const known = new Set(entries.value.map((e) => e.id))
      entries.value = [...entries.value, ...result.added.filter((e) => !known.has(e.id))]
      failed.value = result.failed
      error.value = null
    } catch (err) {
      error.value = asError(err)
    } finally {
      busy.value = false
    }
  }

  async function remove(ids: string[]): Promise<void> {
    await api.call('images.remove', { ids })
    const gone = new Set(ids)
    entries.value = entries.value.filter((e) => !gone.has(e.id))
  }

  return { entries, failed, error, busy, add, remove }
})
