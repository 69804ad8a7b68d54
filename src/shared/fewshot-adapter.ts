import { z } from 'zod'
import { OutputPath, Path } from './paths'
import { PreprocessFields } from './preprocess'

/**
 * The feature adapter (docs/fewshot-adapt.md, "Meta-training an adapter"): a linear map A [F, F'] on a
 * model's frozen features, meta-trained on a labelled folder of many classes with Proto-MAML episodes
 * (the head-only adaptation's own start and steps), so that adapting to new classes later starts from
 * better features. `fewshot.adapter` trains one and writes it as a JSON file; `fewshot.adapt` takes
 * it as `adapter`.
 */

export const ADAPTER_ORDERS = ['first', 'second'] as const

export const AdapterArgs = z
  .object({
    /** The model whose features are adapted (an ONNX file, or a model Metascope opens). */
    modelPath: Path,
    /** A folder with one sub-folder of images per class (the meta-training classes). */
    folder: Path,
    /** The adapter file to write (JSON). */
    out: OutputPath,
    /** The tensor images are embedded with (as fewshot.adapt's `features`); omitted: the automatic choice. */
    features: z.string().min(1).optional(),
    /** F': the adapter's output width; omitted: F (the adapter starts as the identity). */
    width: z.number().int().min(1).max(8192).optional(),
    ways: z.number().int().min(2).max(100).default(5),
    shots: z.number().int().min(1).max(100).default(5),
    queries: z.number().int().min(1).max(100).default(15),
    /** Outer (Adam) steps. */
    iterations: z.number().int().min(1).max(100_000).default(200),
    /** Episodes averaged per outer step. */
    metaBatch: z.number().int().min(1).max(64).default(2),
    /** Adam's learning rate on A. Small: one step moves a whole F x F' matrix (see docs). */
    metaRate: z.number().positive().max(1).default(1e-5),
    /** Proto-MAML's inner steps and rate in every episode; omitted: fewshot.adapt's defaults (100, 0.1), so training sees what adaptation does. */
    innerSteps: z.number().int().min(0).max(1000).optional(),
    innerRate: z.number().positive().max(10).optional(),
    /** 'first' (default): the inner steps' increments are constants to the outer gradient; 'second': differentiated too. */
    order: z.enum(ADAPTER_ORDERS).default('first'),
    seed: z.number().int().min(0).default(0),
    head: z.string().min(1).optional(),
    threads: z.number().int().min(1).max(256).optional(),
    ...PreprocessFields
  })
  .strict()
export type AdapterArgs = z.input<typeof AdapterArgs>

/** How an adapter was meta-trained: stored in its file and in every model adapted with it. */
export const AdapterTraining = z.object({
  folder: z.string(),
  classes: z.array(z.string()),
  images: z.number(),
  ways: z.number(),
  shots: z.number(),
  queries: z.number(),
  iterations: z.number(),
  metaBatch: z.number(),
  metaRate: z.number(),
  innerSteps: z.number(),
  innerRate: z.number(),
  order: z.enum(ADAPTER_ORDERS),
  seed: z.number(),
  init: z.enum(['identity', 'random-projection']),
  preprocess: z.record(z.string(), z.unknown()).optional()
})
export type AdapterTraining = z.infer<typeof AdapterTraining>

/** What an adaptation with an adapter records (the adapted model's metadata `metascope.adapted_from.adapter`, the report's `adapter`). */
export const AdapterRecord = z.object({
  file: z.string(),
  sha256: z.string(),
  tensor: z.string(),
  inWidth: z.number(),
  outWidth: z.number(),
  /** The model whose features it was trained on. */
  trainedOn: z.object({ file: z.string(), sha256: z.string() }),
  training: AdapterTraining
})
export type AdapterRecord = z.infer<typeof AdapterRecord>

/** fewshot.adapterInfo: reads an adapter file's header (what it was trained on) without adapting; a bad file is the same error fewshot.adapt gives (field `adapter`). */
export const AdapterInfoArgs = z.object({ path: Path }).strict()

/** fewshot.adapter streams one per outer step: the mean query loss and accuracy (after the inner steps) of its episodes. */
export const AdapterItem = z.object({ iteration: z.number(), loss: z.number(), accuracy: z.number() })
export type AdapterItem = z.infer<typeof AdapterItem>

export const AdapterResult = z.object({
  file: z.string(),
  tensor: z.string(),
  inWidth: z.number(),
  outWidth: z.number(),
  training: AdapterTraining,
  /** Mean query loss and accuracy over the first and the last tenth of the iterations (the training episodes: not a test). */
  start: z.object({ loss: z.number(), accuracy: z.number() }),
  end: z.object({ loss: z.number(), accuracy: z.number() }),
  /** |A - A_0|_F / |A_0|_F: how far training moved the adapter from its start. */
  relativeChange: z.number(),
  ms: z.object({ embeddings: z.number(), compile: z.number(), training: z.number() }),
  embeddings: z.object({ computed: z.number(), reused: z.number() }),
  warnings: z.array(z.object({ file: z.string(), message: z.string() }))
})
export type AdapterResult = z.infer<typeof AdapterResult>
