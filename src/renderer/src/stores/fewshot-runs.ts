import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import type { ArgsOf } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { ADAPT_DEFAULTS, AdaptItem, AdaptReport, type AdaptMode, type FewshotWorkspace } from '../../../shared/fewshot'
import { api } from '../api'
import { splitForAdd } from '../lib/fewshot-add'
import { runJob, type JobStatus } from '../lib/job-runner'
import { MAX_SIDE, modelDefaults, preprocessArgs } from '../lib/preprocess'
import { i18n } from '../i18n'
import { useCamStore } from './cam'
import { asError } from './errors'
import { useFewshotAdapterStore } from './fewshot-adapter'
import { useFewshotBoardStore } from './fewshot-board'
import { useFewshotFeaturesStore } from './fewshot-features'
import { useFewshotViewStore } from './fewshot-view'
import { useModelStore } from './model'

type AdaptMethodName = FewshotWorkspace['method']

export interface AdaptRun {
  id: string
  createdAt: string
  status: JobStatus
  modelPath: string
  /** What was sent (the sets, method and parameters): saving the model re-runs it into a folder. */
  args: Record<string, unknown>
  losses: AdaptItem[]
  report: AdaptReport | null
  error: ApiErrorShape | null
  /** cam runs of the query images: the original model at its top-1, the adapted one at each true class. */
  camBefore: string | null
  camAfter: string | null
}

/** Adaptation defaults: the fewshot.adapt call's (AdaptArgs in src/shared/fewshot.ts). */

/** Adaptation of the open model to the board's classes: the method and its settings, and every run with its streamed losses and report. */
export const useAdaptRunsStore = defineStore('fewshot-runs', () => {
  const method = ref<AdaptMethodName>(ADAPT_DEFAULTS.method)
  const steps = ref(ADAPT_DEFAULTS.steps)
  const innerRate = ref(ADAPT_DEFAULTS.innerRate)
  /** 'add' keeps the model's classes and adds the board's; board classes named like a class of the model then measure it. */
  const mode = ref<AdaptMode>(ADAPT_DEFAULTS.mode)
  /** Refinement steps on the new rows when adding classes (none by default: the imprinted rows keep the old classes best). */
  const addSteps = ref(ADAPT_DEFAULTS.addSteps)
  /** Deeper adaptation: the last blocks fine-tuned with the head (0: the head only), with augmented support views. */
  const depth = ref(0)
  const augment = ref(true)
  const runs = ref<AdaptRun[]>([])
  const activeRunId = ref<string | null>(null)

  const activeRun = computed(() => runs.value.find((r) => r.id === activeRunId.value) ?? null)
  const running = computed(() => runs.value.some((r) => r.status === 'running'))
  /** The board split for add mode: classes to learn, and classes named like one of the model's (measured only). */
  const addSplit = computed(() => splitForAdd(useFewshotBoardStore().classes, useModelStore().labels, useModelStore().labelFolders))
  /** Add mode needs one new class at least, each new class ready as the board says; an old class needs an image. */
  const addReady = computed(() => {
    const board = useFewshotBoardStore()
    const { fresh, old } = addSplit.value
    return fresh.length > 0 && fresh.every((c) => board.issues.get(c.key) === null) && old.every(({ cls }) => cls.support.length + cls.query.length > 0)
  })
  const canRun = computed(() => (mode.value === 'add' ? addReady.value : useFewshotBoardStore().ready) && !!useModelStore().summary && !running.value)

  /** The board as fewshot.adapt's sets; in add mode the new classes as sets, and the old ones' images (support and query alike) as oldClasses. */
  function boardArgs(): Pick<ArgsOf<'fewshot.adapt'>, 'sets' | 'oldClasses' | 'mode' | 'steps'> {
    const asSet = (c: (typeof addSplit.value.fresh)[number]) => ({ name: c.name.trim(), support: c.support.map((x) => x.path), query: c.query.map((x) => x.path) })
    if (mode.value !== 'add') return { sets: { classes: useFewshotBoardStore().classes.map(asSet) }, steps: steps.value }
    const { fresh, old } = addSplit.value
    return {
      mode: 'add',
      sets: { classes: fresh.map(asSet) },
      ...(old.length ? { oldClasses: old.map(({ cls }) => ({ name: cls.name.trim(), files: [...cls.support, ...cls.query].map((x) => x.path) })) } : {}),
      steps: addSteps.value
    }
  }

  function adaptArgs(modelPath: string): ArgsOf<'fewshot.adapt'> {
    const summary = useModelStore().summary
    return {
      modelPath,
      ...boardArgs(),
      method: method.value,
      innerRate: innerRate.value,
      // The model panel's preprocessing for this model, as a cam run sends it: the engine embeds with it.
      ...preprocessArgs(useCamStore().preprocessOf(modelPath), !!summary && modelDefaults(summary).dynamicSize),
      // The feature tensor picked in the Few-shot view; none for the automatic choice (adding classes works on the last layer's input).
      ...(mode.value === 'add' ? {} : useFewshotFeaturesStore().args),
      ...(mode.value !== 'add' && depth.value > 0 ? { depth: depth.value, augment: augment.value } : {}),
      // The ticked adapter goes with every mode: adding classes or fine-tuning blocks with one is the engine's refusal to give, by name.
      ...useFewshotAdapterStore().args
    }
  }

  /** Adapts the open model to the board; resolves with the job id (null when the call was refused: see the view's error). */
  async function run(): Promise<string | null> {
    const model = useModelStore()
    const view = useFewshotViewStore()
    if (!model.summary) return null
    // A size typed in the model panel that cannot be used: say so rather than adapt at another size.
    const sizeProblem = modelDefaults(model.summary).dynamicSize ? useCamStore().sizeProblem(model.summary.path) : null
    if (sizeProblem) {
      view.error = { code: 'invalid-arguments', message: i18n.global.t('model.pre.sizeNotRun', { problem: i18n.global.t(`model.pre.${sizeProblem}`, { max: MAX_SIDE }) }) }
      return null
    }
    const args = adaptArgs(model.summary.path)
    const r = reactive<AdaptRun>({ id: '', createdAt: new Date().toISOString(), status: 'running', modelPath: model.summary.path, args, losses: [], report: null, error: null, camBefore: null, camAfter: null })
    runs.value.push(r)
    try {
      const job = await runJob(r, () => api.call('fewshot.adapt', args), {
        item: (x) => {
          const item = AdaptItem.safeParse(x)
          if (item.success) r.losses.push(item.data)
        },
        done: (x) => {
          const report = AdaptReport.safeParse(x)
          r.report = report.success ? report.data : null
          if (!report.success) return { code: 'internal', message: `The engine's adaptation result was not understood: ${report.error.issues[0]?.message ?? ''}` }
        }
      })
      r.id = job.jobId
      activeRunId.value = job.jobId
      view.error = null
      return job.jobId
    } catch (err) {
      runs.value = runs.value.filter((x) => x !== r)
      view.error = asError(err)
      return null
    }
  }

  return { method, steps, innerRate, mode, addSteps, depth, augment, addSplit, runs, activeRunId, activeRun, running, canRun, run }
})
