import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import type { WorkspacePhase } from '../../../shared/events'
import { callWithProgress } from '../lib/call-progress'
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
  /**
   * A save or an open under way: the engine's phase, or the store's own steps around its call (saved
   * outputs copied first; the model, images and runs restored after), with the phase's counts.
   */
  type Step = WorkspacePhase | 'outputs' | 'model' | 'images' | 'restoring'
  type Progress = { action: 'save' | 'open'; phase: Step; done: number; total: number; startedAt: number; phaseStartedAt: number }
  const progress = ref<Progress | null>(null)
  function begin(action: Progress['action'], phase: Step): { set: (phase: Step, done?: number, total?: number) => void; end: () => void } {
    const p = reactive<Progress>({ action, phase, done: 0, total: 0, startedAt: Date.now(), phaseStartedAt: Date.now() })
    progress.value = p
    return {
      set: (phase, done = 0, total = 0) => {
        // The estimate goes by the phase's own rate: it starts again with each phase.
        if (phase !== p.phase) p.phaseStartedAt = Date.now()
        Object.assign(p, { phase, done, total })
      },
      end: () => {
        if (progress.value === p) progress.value = null
      }
    }
  }

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
      settings: { ...cam.settings, attribution: cam.attributionSnapshot() },
      runs: cam.runs.map((r) => ({ ...r, items: r.items.map((i) => (i.ok ? { ok: true as const, resultId: i.resultId, imageId: i.imageId } : i)) })),
      fewshot: fewshotSnapshot(),
      ...(audits ? { audits } : {})
    }
  }

  async function save(target: string): Promise<void> {
    busy.value = true
    const p = begin('save', 'outputs')
    try {
      // Outputs the engine already wrote are copied into the folder, never computed again.
      await keepAdaptedModelsIn(target)
      const audits = await useAuditStore().keepIn(target)
      const r = await callWithProgress('workspace.save', { dir: target, workspace: snapshot(audits) }, (e) => p.set(e.phase as WorkspacePhase, e.done, e.total))
      dir.value = r.dir
      localStorage.setItem('metascope.workspaceDir', r.dir)
      message.value = r.file
      error.value = null
    } catch (err) {
      error.value = asError(err)
    } finally {
      busy.value = false
      p.end()
    }
  }

  async function open(target: string): Promise<void> {
    busy.value = true
    const p = begin('open', 'reading')
    try {
      const ws = await callWithProgress('workspace.open', { dir: target }, (e) => p.set(e.phase as WorkspacePhase, e.done, e.total))
      const model = useModelStore()
      p.set('model')
      // The workspace's own runs come with it: nothing is run again.
      if (ws.model) await model.open(ws.model.path, { follow: false })
      p.set('images')
      if (ws.images.length) await useImagesStore().add(ws.images)
      p.set('restoring')
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
      p.end()
    }
  }

  return { dir, message, error, busy, progress, save, open, snapshot }
})
