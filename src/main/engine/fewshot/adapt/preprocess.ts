import type { PreprocessChoice } from '../../../../shared/api'
import type { AdaptPreprocess } from '../../../../shared/fewshot'
import type { Preprocess } from '../../data/preprocess-spec'
import { modelPreprocess } from '../../model/inputs'
import type { LoadedModel } from '../../model/loaded-model'

export interface AdaptInputs {
  /** The model as it embeds: at the chosen size when its height and width are open (else as opened). */
  model: LoadedModel
  /** What every support and query image goes through. */
  preprocess: Preprocess
  /** The same, as the report and the adapted model's metadata record it, with where each field came from. */
  used: AdaptPreprocess
}

/**
 * The preprocessing an adaptation embeds with, as cam.run works it out: a field the caller chose
 * wins, a field left out is what the model states (metadata, input layers) or Metascope's default.
 * A size is only for a model whose height and width are open; a fixed-size model refuses another
 * one (the error names the size field).
 */
export async function adaptInputs(opened: LoadedModel, choice: PreprocessChoice): Promise<AdaptInputs> {
  opened.requireImageClassifier('few-shot adaptation')
  const model = choice.size ? await opened.atSize([choice.size.height, choice.size.width]) : opened
  const { normalization, resize, channelOrder } = choice
  const preprocess = modelPreprocess(model, {
    ...(normalization ? { normalization } : {}),
    ...(resize ? { resize } : {}),
    ...(channelOrder ? { channelOrder } : {})
  })
  const stated = model.summary.preprocess
  const source = (field: 'normalization' | 'resize' | 'channelOrder') => (choice[field] ? 'chosen' : stated.source[field])
  const [height, width] = preprocess.size
  return {
    model,
    preprocess,
    used: {
      channels: preprocess.channels ?? 3,
      normalization: preprocess.normalization,
      resize: preprocess.resize,
      channelOrder: preprocess.channelOrder ?? 'rgb',
      size: { width, height },
      source: {
        normalization: source('normalization'),
        resize: source('resize'),
        channelOrder: source('channelOrder'),
        // A size the caller gave for an open-size model is a choice even when it is the default one.
        size: choice.size && model.dynamicSize ? 'chosen' : stated.source.size
      }
    }
  }
}

/** The part of an embedding's cache key that says how its image was preprocessed: another choice embeds again. */
export function preprocessKey(pre: Preprocess): string {
  return [pre.normalization, pre.resize, pre.channelOrder ?? 'rgb', pre.channels ?? 3, pre.layout, pre.size.join('x')].join(',')
}
