import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ApiErrorShape } from '../../../shared/errors'

/** What the Few-shot view shows of its actions as a whole: the last problem, and whether files are being written or read. */
export const useFewshotViewStore = defineStore('fewshot-view', () => {
  /** Problems of adding images, starting a run or meta-training, Grad-CAM and saving: shown above the board and the meta-training form. */
  const error = ref<ApiErrorShape | null>(null)
  /** Images being added or a model being saved: the path picker and Save wait for it. */
  const busy = ref(false)
  return { error, busy }
})
