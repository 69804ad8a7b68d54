import { api } from '../api'
import { asError } from './errors'
import { useAdaptRunsStore } from './fewshot-runs'
import { useFewshotViewStore } from './fewshot-view'

/** Writes an adapted model (model.onnx + predictions.json) into a folder: a copy of what the run wrote. */
export async function saveAdaptedModel(id: string, dir: string): Promise<string | null> {
  const r = useAdaptRunsStore().runs.find((x) => x.id === id)
  if (!r) return null
  const view = useFewshotViewStore()
  view.busy = true
  try {
    const saved = await api.call('outputs.save', { jobId: r.id, dir })
    view.error = null
    return saved.main
  } catch (err) {
    view.error = asError(err)
    return null
  } finally {
    view.busy = false
  }
}

/**
 * Before a workspace save: writes each finished run's adapted model into the workspace folder
 * (the job's own copy lives in a temporary folder), so the reopened runs can still open it and
 * run Grad-CAM on it. A run whose copy cannot be written keeps its temporary path.
 */
export async function keepAdaptedModelsIn(dir: string): Promise<void> {
  const root = dir.replace(/[\\/]+$/, '')
  for (const [i, r] of useAdaptRunsStore().runs.entries()) {
    if (r.status !== 'done' || !r.report || r.report.adaptedModel.startsWith(`${root}/`)) continue
    const saved = await saveAdaptedModel(r.id, `${root}/fewshot-models/run-${i + 1}`)
    if (saved) r.report.adaptedModel = saved
  }
}
