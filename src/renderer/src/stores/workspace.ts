import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { useAuditStore } from './audit'
import { useCamStore } from './cam'
import { asError } from './errors'
import { keepAdaptedModelsIn } from './fewshot-save'
import { fewshotSnapshot, restoreFewshot } from './fewshot-workspace'
import { useImagesStore } from './images'
import { useModelStore } from './model'

/** Saves and reopens everything the user made: model, images, settings and every run's results. */
export const useWorkspaceStore = defineStore('workspace', () => {
  const dir = ref(localStorage.getItem('metascope.workspaceDir') ?? '')
  const message = ref<string | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const busy = ref(false)

  /** What a save sends: results by id only (the engine holds their maps), so thousands of results stay a small request. */
  type Draft = ArgsOf<'workspace.save'>['workspace']
  function snapshot(audits?: Draft['audits']): Draft {
    const model = useModelStore()
    const images = useImagesStore()
    const cam = useCamStore()
    return {
      format: 'metascope-workspace',
      version: 2,
      savedAt: new Date().toISOString(),
      model: model.summary ? { path: model.summary.path } : null,
      images: images.entries.map((e) => e.path),
      settings: { ...cam.settings },
      runs: cam.runs.map((r) => ({ ...r, items: r.items.map((i) => (i.ok ? { ok: true as const, resultId: i.resultId, imageId: i.imageId } : i)) })),
      fewshot: fewshotSnapshot(),
      ...(audits ? { audits } : {})
    }
  }

  async function save(target: string): Promise<void> {
    busy.value = true
    try {
      // Outputs the engine already wrote are copied into the folder, never computed again.
      await keepAdaptedModelsIn(target)
      const audits = await useAuditStore().keepIn(target)
      const r = await api.call('workspace.save', { dir: target, workspace: snapshot(audits) })
      dir.value = r.dir
      localStorage.setItem('metascope.workspaceDir', r.dir)
      message.value = r.file
      error.value = null
    } catch (err) {
      error.value = asError(err)
    } finally {
      busy.value = false
    }
  }

  async function open(target: string): Promise<void> {
    busy.value = true
    try {
      const ws = await api.call('workspace.open', { dir: target })
      const model = useModelStore()
      if (ws.model) await model.open(ws.model.path)
      if (ws.images.length) await useImagesStore().add(ws.images)
      useCamStore().restore(ws.runs, ws.settings)
      await restoreFewshot(ws.fewshot)
      await useAuditStore().restore(ws.audits)
      dir.value = target
      message.value = target
      error.value = null
    } catch (err) {
      error.value = asError(err)
    } finally {
      busy.value = false
    }
  }

  return { dir, message, error, busy, save, open, snapshot }
})
