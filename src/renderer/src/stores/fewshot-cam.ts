import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '../api'
import { useCamStore } from './cam'
import { asError } from './errors'
import { useFewshotBoardStore } from './fewshot-board'
import { useAdaptRunsStore, type AdaptRun } from './fewshot-runs'
import { useFewshotViewStore } from './fewshot-view'
import { useImagesStore } from './images'

/** Grad-CAM of an adaptation's query images, before (the original model) and after (the adapted one). */
export const useFewshotCamStore = defineStore('fewshot-cam', () => {
  const camBusy = ref(false)

  /** Query files of a run with their library image ids and class index (for Grad-CAM). */
  function queryIds(r: AdaptRun): { id: string; path: string; cls: number }[] {
    const images = useImagesStore()
    const byPath = new Map(images.entries.map((e) => [e.path, e.id]))
    for (const c of useFewshotBoardStore().classes) for (const x of [...c.support, ...c.query]) byPath.set(x.path, x.id)
    return (r.report?.predictions ?? []).flatMap((p) => {
      const id = byPath.get(p.file)
      return id ? [{ id, path: p.file, cls: r.report!.classes.indexOf(p.trueClass) }] : []
    })
  }

  /**
   * Grad-CAM on every query image, with the original model (at its own top-1) and the adapted model
   * (at the image's true class), as two cam runs the compare view pairs up. Resolves when both end.
   */
  async function runCamPair(id: string): Promise<boolean> {
    const r = useAdaptRunsStore().runs.find((x) => x.id === id)
    if (!r?.report) return false
    const cam = useCamStore()
    const view = useFewshotViewStore()
    const ready = (runId: string | null) => cam.runs.some((x) => x.id === runId && x.status !== 'failed' && x.status !== 'cancelled')
    if (ready(r.camBefore) && ready(r.camAfter)) {
      // Already computed (or computing): show those.
      cam.activeRunId = r.camBefore
      cam.compareRunId = r.camAfter
      return true
    }
    camBusy.value = true
    try {
      const queries = queryIds(r)
      if (!queries.length) return false
      const before = await api.call('models.open', { path: r.report.model })
      const after = await api.call('models.open', { path: r.report.adaptedModel })
      r.camBefore = await cam.startGroups({ modelId: before.id, modelPath: before.path, target: 'top1', groups: [{ imageIds: queries.map((q) => q.id), target: 'top1' }] })
      r.camAfter = await cam.startGroups({
        modelId: after.id,
        modelPath: after.path,
        target: 'class',
        // Added classes follow the model's own in the adapted model's labels.
        groups: r.report.classes.map((_, n) => ({ imageIds: queries.filter((q) => q.cls === n).map((q) => q.id), target: (r.report!.addClasses?.oldLabels.length ?? 0) + n }))
      })
      cam.activeRunId = r.camBefore
      cam.compareRunId = r.camAfter
      view.error = null
      return true
    } catch (err) {
      view.error = asError(err)
      return false
    } finally {
      camBusy.value = false
    }
  }

  return { camBusy, runCamPair }
})
