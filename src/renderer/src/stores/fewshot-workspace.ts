import { ADAPT_DEFAULTS, type FewshotWorkspace } from '../../../shared/fewshot'
import { newClassKey, toFewshotImage, useFewshotBoardStore, type FewshotImage } from './fewshot-board'
import { useAdaptRunsStore } from './fewshot-runs'
import { useImagesStore } from './images'
import { useMetaTrainStore } from './meta-train'

/** What a workspace keeps of the Few-shot view: the board, the adaptation settings and every run (a running one as cancelled). */
export function fewshotSnapshot(): FewshotWorkspace {
  const board = useFewshotBoardStore()
  const adapt = useAdaptRunsStore()
  const file = (x: FewshotImage) => ({ path: x.path })
  return {
    classes: board.classes.map((c) => ({ name: c.name, support: c.support.map(file), query: c.query.map(file) })),
    shots: board.shots,
    method: adapt.method,
    steps: adapt.steps,
    innerRate: adapt.innerRate,
    mode: adapt.mode,
    addSteps: adapt.addSteps,
    runs: adapt.runs.map((r) => ({ ...r, args: { ...r.args }, losses: [...r.losses], status: r.status === 'running' ? 'cancelled' : r.status })),
    metaRuns: useMetaTrainStore().metaRuns.map((r) => ({ ...r, items: [...r.items], status: r.status === 'running' ? 'cancelled' : r.status }))
  }
}

/** Reopens a saved board and its runs; images are re-added to the library to get their ids. */
export async function restoreFewshot(saved: FewshotWorkspace | undefined): Promise<void> {
  const board = useFewshotBoardStore()
  const adapt = useAdaptRunsStore()
  const meta = useMetaTrainStore()
  if (!saved) {
    board.classes = []
    adapt.runs = []
    meta.metaRuns = []
    adapt.activeRunId = meta.activeMetaId = null
    return
  }
  const images = useImagesStore()
  const paths = saved.classes.flatMap((c) => [...c.support, ...c.query].map((x) => x.path))
  const known = new Map(images.entries.map((e) => [e.path, e]))
  const missing = paths.filter((p) => !known.has(p))
  if (missing.length) for (const e of (await images.add(missing, { library: false }))?.added ?? []) known.set(e.path, e)
  const image = (x: { path: string }) => (known.has(x.path) ? [toFewshotImage(known.get(x.path)!)] : [])
  board.classes = saved.classes.map((c) => ({ key: newClassKey(), name: c.name, support: c.support.flatMap(image), query: c.query.flatMap(image) }))
  board.shots = saved.shots
  adapt.method = saved.method
  adapt.steps = saved.steps
  adapt.innerRate = saved.innerRate
  // Workspaces saved before "add classes" replaced the classifier.
  adapt.mode = saved.mode ?? 'replace'
  adapt.addSteps = saved.addSteps ?? ADAPT_DEFAULTS.addSteps
  adapt.runs = saved.runs
  meta.metaRuns = saved.metaRuns
  adapt.activeRunId = adapt.runs.at(-1)?.id ?? null
  meta.activeMetaId = meta.metaRuns.at(-1)?.id ?? null
}
