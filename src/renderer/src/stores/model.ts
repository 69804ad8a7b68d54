import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { DemoInfo, ModelInspection, ModelSummary } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { asError } from './errors'

const RECENT_KEY = 'metascope.recentModels'

export const useModelStore = defineStore('model', () => {
  const summary = ref<ModelSummary | null>(null)
  const inspection = ref<ModelInspection | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const busy = ref(false)
  const demo = ref<DemoInfo | null>(null)
  const recent = ref<string[]>(JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]') as string[])

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

  /** A failed open keeps the model that was already open: nothing the user had is lost. */
  async function open(path: string): Promise<boolean> {
    busy.value = true
    try {
      const s = await api.call('models.open', { path })
      const i = await api.call('models.inspect', { modelId: s.id })
      summary.value = s
      inspection.value = i
      error.value = null
      remember(s.path)
      return true
    } catch (err) {
      error.value = asError(err)
      return false
    } finally {
      busy.value = false
    }
  }

  async function loadDemo(): Promise<DemoInfo> {
    demo.value ??= await api.call('demo.info', {})
    return demo.value
  }

  return { summary, inspection, error, busy, demo, recent, labels, labelFolders, open, loadDemo }
})
