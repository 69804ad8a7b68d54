import type { ModelSummary, PreprocessChoice } from '../../../shared/api'
import type { AdaptPreprocess } from '../../../shared/fewshot'
import { MAX_SIDE, type InputSize, type ModelPreprocess } from '../../../shared/preprocess'

export { CHANNEL_ORDERS, MAX_SIDE, NORMALIZATIONS, RESIZES } from '../../../shared/preprocess'

/**
 * What "model default" means for a model and whether a size can be chosen: the engine works it out
 * when it opens the model (the same code a run uses) and sends it in the summary, so the controls
 * never guess. `source` says which values the model file states and which are assumed.
 */
export function modelDefaults(summary: ModelSummary): ModelPreprocess {
  return summary.preprocess
}

/** Why a typed size cannot be used (an i18n key under model.pre), or the size (null: both empty, the model's default). */
export type SizeCheck = { ok: true; size: InputSize | null } | { ok: false; problem: 'sizeBoth' | 'sizeWhole' | 'sizeRange' }

export function checkSizeText(width: string, height: string): SizeCheck {
  const w = width.trim()
  const h = height.trim()
  if (!w && !h) return { ok: true, size: null }
  if (!w || !h) return { ok: false, problem: 'sizeBoth' }
  if (!/^\d+$/.test(w) || !/^\d+$/.test(h)) return { ok: false, problem: 'sizeWhole' }
  const size = { width: Number(w), height: Number(h) }
  if (size.width < 1 || size.height < 1 || size.width > MAX_SIDE || size.height > MAX_SIDE) return { ok: false, problem: 'sizeRange' }
  return { ok: true, size }
}

/**
 * The cam.run fields for a choice: only what the user picked (the engine fills the rest from the
 * model's metadata), and a size only for a model whose size is dynamic (a fixed one refuses it).
 */
export function preprocessArgs(choice: PreprocessChoice | undefined, dynamicSize: boolean): PreprocessChoice {
  if (!choice) return {}
  return {
    ...(choice.normalization ? { normalization: choice.normalization } : {}),
    ...(choice.resize ? { resize: choice.resize } : {}),
    ...(choice.channelOrder ? { channelOrder: choice.channelOrder } : {}),
    ...(choice.size && dynamicSize ? { size: { width: choice.size.width, height: choice.size.height } } : {})
  }
}

/**
 * The preprocessing a few-shot adaptation of this model will use with this choice, with where each
 * field comes from, as the engine reports it afterwards (AdaptReport.preprocess): a chosen field is
 * 'chosen', the rest is what the model states or the assumption (source 'default').
 */
export function effectivePreprocess(summary: ModelSummary, choice: PreprocessChoice): AdaptPreprocess {
  const own = summary.preprocess
  const pick = <K extends 'normalization' | 'resize' | 'channelOrder'>(k: K) => (choice[k] ? { value: choice[k]!, source: 'chosen' as const } : { value: own[k], source: own.source[k] })
  const [normalization, resize, channelOrder] = [pick('normalization'), pick('resize'), pick('channelOrder')]
  const size = choice.size && own.dynamicSize ? { value: choice.size, source: 'chosen' as const } : { value: own.size, source: own.source.size }
  return {
    channels: own.channels,
    normalization: normalization.value,
    resize: resize.value,
    channelOrder: channelOrder.value,
    size: { width: size.value.width, height: size.value.height },
    source: { normalization: normalization.source, resize: resize.source, channelOrder: channelOrder.source, size: size.source }
  }
}
