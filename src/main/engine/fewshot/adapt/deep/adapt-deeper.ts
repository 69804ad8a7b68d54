import type { AdaptDeep, AdaptItem } from '../../../../../shared/fewshot'
import { loadImageTensor } from '../../../data/image-tensor'
import type { Preprocess } from '../../../data/preprocess-spec'
import { adaptHead, type AdaptedHead, type AdaptHeadSpec } from '../adapt-head'
import type { Embedding } from '../embed'
import type { HeadWeights } from '../head-net'
import type { LoadedModel } from '../../../model/loaded-model'
import type { FeatureTensor } from '../features'
import { checkAugmentable } from './augment'
import { lastBlocks } from './blocks'
import { deepAdapt } from './deep-adapt'

export interface DeeperOptions {
  depth: number
  deepSteps: number
  deepRate: number
  /** Omitted: on (augmentation is part of deeper adaptation unless turned off). */
  augment?: boolean
  seed: number
  earlyStop: boolean
}

/** What deeper adaptation adds to a head adaptation: the fine-tuned weights for the writer, and its report. */
export interface DeeperResult extends AdaptedHead {
  deep: AdaptDeep
  /** The fine-tuned block weights by initializer name (write.ts puts them into the written model). */
  weights: Map<string, Float32Array>
  /** The query embeddings with the fine-tuned features (the original model's own prediction kept). */
  query: Embedding[]
}

/** Refuses a depth beyond the model's blocks, or augmentation on inputs too small to crop, before any image is embedded. */
export function checkDeeper(model: LoadedModel, features: FeatureTensor, preprocess: Preprocess, opts: DeeperOptions): void {
  lastBlocks(model, features.tensor, opts.depth)
  if (opts.augment ?? true) checkAugmentable(preprocess, model.file, model.path)
}

/**
 * fewshot.adapt with `depth` > 0: loads the support and query images as the model takes them, and
 * fine-tunes the last `depth` blocks with a new head (deep-adapt.ts) that starts from the chosen
 * method's head-only adaptation on the same features. Each Adam step's support loss goes to `onStep`
 * as it is measured.
 */
export async function adaptDeeper(
  spec: AdaptHeadSpec,
  files: { support: string[]; query: string[] },
  queryEmbeddings: Embedding[],
  preprocess: Preprocess,
  opts: DeeperOptions,
  onStep?: (item: AdaptItem) => void,
  throwIfCancelled?: () => void
): Promise<DeeperResult> {
  const load = (f: string) => loadImageTensor(f, preprocess).then((t) => t.data)
  const support = await Promise.all(files.support.map(load))
  const query = await Promise.all(files.query.map(load))
  const augment = opts.augment ?? true
  const initHead = async (features: Float32Array[], labels: Int32Array): Promise<HeadWeights> =>
    (await adaptHead({ ...spec, support: features, supportLabels: labels, query: features, queryLabels: labels })).adapted
  const r = await deepAdapt({
    model: spec.model,
    features: spec.features,
    preprocess,
    depth: opts.depth,
    support,
    supportLabels: spec.supportLabels,
    query,
    ways: spec.classes.length,
    initHead,
    steps: opts.deepSteps,
    rate: opts.deepRate,
    augment,
    seed: opts.seed,
    earlyStop: opts.earlyStop,
    threads: spec.threads,
    onStep: (s) => onStep?.(s),
    throwIfCancelled
  })
  return {
    adapted: r.head,
    supportLoss: r.supportLoss,
    steps: r.steps,
    provider: r.provider,
    weights: r.weights,
    query: queryEmbeddings.map((e, i) => ({ ...e, features: r.queryFeatures[i] })),
    deep: {
      depth: opts.depth,
      blocks: r.blocks,
      cut: r.cut,
      augment,
      views: r.views,
      seed: opts.seed,
      rate: opts.deepRate,
      stepsAsked: opts.deepSteps,
      steps: r.steps,
      heldOutLoss: r.heldOutLoss,
      trainedParameters: r.trainedParameters,
      ms: r.ms
    }
  }
}
