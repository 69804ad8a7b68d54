import { z } from 'zod'
import { Path } from './paths'
import { PreprocessFields } from './preprocess'

/**
 * Which tensor of an imported model few-shot adaptation embeds images with (the "features"), and
 * the calls that list and rank the candidates. The automatic choice is Metascope's rule (the
 * backbone's pooled representation feeding the classifier's first Dense layer), not a fact the
 * model states: the UI and CLI show it as a choice.
 */

/**
 * pooled: the output of a global pooling (GlobalAveragePool, GlobalMaxPool, a ReduceMean/ReduceMax
 * over height and width, a pooling to 1x1); flattened: a Flatten of the last spatial map;
 * dense-input: the input of a Dense (Gemm/MatMul) layer of the classifier stack; other: a tensor
 * named by the user that is none of these.
 */
export const FEATURE_KINDS = ['pooled', 'flattened', 'dense-input', 'other'] as const
export type FeatureKind = (typeof FEATURE_KINDS)[number]

export const FeatureCandidate = z.object({
  /** The tensor's name in the (converted) ONNX graph: what `features` takes. */
  tensor: z.string(),
  /** F: values per image once flattened to [batch, F]. */
  width: z.number(),
  kind: z.enum(FEATURE_KINDS),
  /** The layer the tensor comes out of, past Flatten / Reshape / Identity / Dropout; null for a graph input. */
  follows: z.object({ op: z.string(), node: z.string() }).nullable(),
  /** The Dense (Gemm/MatMul) node it is the input of, when it is one's. */
  feeds: z.string().nullable(),
  /** True for the input of the model's last linear layer (the head): the original head's rows apply to it. */
  headInput: z.boolean(),
  /** True for exactly one candidate: the automatic choice. */
  auto: z.boolean()
})
export type FeatureCandidate = z.infer<typeof FeatureCandidate>

/** What an adaptation used: recorded in its report and the adapted model's metadata. */
export const FeatureChoice = FeatureCandidate.pick({ tensor: true, width: true, kind: true, follows: true, headInput: true, auto: true })
export type FeatureChoice = z.infer<typeof FeatureChoice>

export const FeaturesArgs = z
  .object({
    modelPath: Path,
    /** The head's node or weight name, when it is not found automatically (as fewshot.adapt's). */
    head: z.string().min(1).optional(),
    /** The input size, for a model whose height and width are open (a flattened map's width depends on it). */
    size: PreprocessFields.size
  })
  .strict()

export const FeaturesResult = z.object({
  model: z.string(),
  /** The head (last linear layer) the stack was walked back from. */
  head: z.object({ node: z.string(), op: z.string(), width: z.number(), classes: z.number() }),
  /** From the backbone towards the head. */
  candidates: z.array(FeatureCandidate)
})
export type FeaturesResult = z.infer<typeof FeaturesResult>

/** A class of the support set to rank features on: its support images (query images, if sent, are not used). */
const SuggestClassSet = z
  .object({
    name: z.string().trim().min(1, 'every class needs a name'),
    support: z.array(Path),
    query: z.array(Path).optional()
  })
  .strict()

export const SuggestFeaturesArgs = z
  .object({
    modelPath: Path,
    head: z.string().min(1).optional(),
    /** A folder with one sub-folder of support images per class, or `sets` (the few-shot board's classes). */
    supportDir: Path.optional(),
    sets: z.object({ classes: z.array(SuggestClassSet) }).strict().optional(),
    threads: z.number().int().min(1).max(256).optional(),
    /** The preprocessing the adaptation will use (as fewshot.adapt takes it): the ranking embeds with it. */
    ...PreprocessFields
  })
  .strict()
  .refine((a) => !!a.sets !== !!a.supportDir, 'give either supportDir or sets')

export const FeatureScore = FeatureCandidate.extend({
  /** Leave-one-out nearest-centroid accuracy on the support set. */
  accuracy: z.number(),
  correct: z.number(),
  total: z.number()
})
export type FeatureScore = z.infer<typeof FeatureScore>

/** fewshot.suggestFeatures' job result: the model's candidates (as fewshot.features lists them), each ranked, best first. Nothing is applied. */
export const FeatureSuggestion = FeaturesResult.extend({
  classes: z.array(z.string()),
  supportCounts: z.array(z.number()),
  /** Support images used (every one is left out once). */
  images: z.number(),
  /** Best first; equal accuracies keep the automatic choice first, then the candidates' order. */
  ranking: z.array(FeatureScore),
  ms: z.object({ embeddings: z.number(), ranking: z.number() }),
  embeddings: z.object({ computed: z.number(), reused: z.number() })
})
export type FeatureSuggestion = z.infer<typeof FeatureSuggestion>
