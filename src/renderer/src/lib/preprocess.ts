import type { ModelSummary, PreprocessChoice } from '../../../shared/api'
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
