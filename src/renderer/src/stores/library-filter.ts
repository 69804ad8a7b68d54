import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { ImageEntry } from '../../../shared/api'
import { classFolderLabels } from '../../../shared/folder-labels'
import { sameLabel } from '../lib/format'
import type { OkItem } from '../lib/heat'
import { useCamStore } from './cam'
import { useImagesStore } from './images'
import { useModelStore } from './model'

/**
 * The library's filters and what they look at: the open model's predictions (the cam store's
 * predictionRun) and each image's folder label. The library and the heatmap gallery both show what
 * passes, so the two never disagree about which images are "the 8 mismatches".
 */
export const useLibraryFilterStore = defineStore('library-filter', () => {
  const images = useImagesStore()
  const cam = useCamStore()
  const model = useModelStore()
  const predictedClass = ref<number | 'any'>('any')
  const minConfidence = ref(0)
  const mismatchOnly = ref(false)

  /** The open model's result per image (none of another model's). */
  const predictions = computed(() => {
    const m = new Map<string, OkItem>()
    for (const i of cam.predictionRun?.items ?? []) if (i.ok && i.imageId) m.set(i.imageId, i)
    return m
  })
  /** Folder labels by image path (src/shared/folder-labels.ts: the rule results.csv uses too). */
  const labelByPath = computed(() => classFolderLabels(images.entries.map((e) => e.path)))
  const labelOf = (imageId: string | null): string | null => {
    const path = imageId ? images.byId.get(imageId)?.path : undefined
    return (path && labelByPath.value.get(path)) ?? null
  }

  /** The open model's class a folder label stands for (its folder names, e.g. the demo's metadata), or -1. */
  function expectedClass(imageId: string | null): number {
    const label = labelOf(imageId)
    const folders = model.labelFolders
    return label && folders ? folders.findIndex((f) => sameLabel(f, label)) : -1
  }

  /** True when a top-1 prediction of the open model contradicts the image's folder label; null when there is nothing to compare. */
  function mismatch(imageId: string | null, top1: number): boolean | null {
    const expected = expectedClass(imageId)
    return expected < 0 ? null : expected !== top1
  }

  const active = computed(() => predictedClass.value !== 'any' || minConfidence.value > 0 || mismatchOnly.value)
  const shown = computed<ImageEntry[]>(() => {
    if (!active.value) return images.entries
    return images.entries.filter((e) => {
      const p = predictions.value.get(e.id)
      if (!p) return false
      const top = p.top5[0]
      if (predictedClass.value !== 'any' && top.index !== predictedClass.value) return false
      if (top.probability < minConfidence.value) return false
      return !mismatchOnly.value || mismatch(e.id, top.index) === true
    })
  })
  const shownIds = computed(() => new Set(shown.value.map((e) => e.id)))

  function clear(): void {
    predictedClass.value = 'any'
    minConfidence.value = 0
    mismatchOnly.value = false
  }

  // A class number means another class under another model: that filter goes with the model. The
  // others (confidence, mismatch) mean the same under any model and apply to the new predictions.
  watch(
    () => model.summary?.path,
    () => (predictedClass.value = 'any')
  )

  return { predictedClass, minConfidence, mismatchOnly, predictions, labelOf, mismatch, active, shown, shownIds, clear }
})
