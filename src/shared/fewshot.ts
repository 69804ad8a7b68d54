import { z } from 'zod'
import { ApiErrorShape } from './errors'
import { OutputPath, Path } from './paths'
import { ADAPT_METHOD_IDS, FEWSHOT_METHOD_IDS } from './registry/fewshot-methods'

/**
 * The few-shot part of the API contract. The method names are the registry's keys
 * (src/main/engine/fewshot/methods.ts): the CLI help, the UI labels and this enum come from one list.
 */
/** The few-shot method ids, from the registry (src/shared/registry/fewshot-methods.ts). */
export const FEWSHOT_METHOD_NAMES = FEWSHOT_METHOD_IDS
export type FewshotMethod = (typeof FEWSHOT_METHOD_NAMES)[number]

/** Hyper-parameters with the defaults of docs/fewshot.md. */
export const FewshotConfig = z.object({
  method: z.enum(FEWSHOT_METHOD_NAMES).default('protomaml'),
  ways: z.number().int().min(2).max(100).default(5),
  shots: z.number().int().min(1).max(100).default(1),
  queries: z.number().int().min(1).max(200).default(15),
  trainSteps: z.number().int().min(0).max(50).default(5),
  testSteps: z.number().int().min(0).max(200).default(10),
  innerRate: z.number().positive().max(10).default(0.1),
  metaBatch: z.number().int().min(1).max(64).default(4),
  metaRate: z.number().positive().max(1).default(1e-3),
  seed: z.number().int().min(0).default(0)
})
export type FewshotConfig = z.infer<typeof FewshotConfig>


/** Where meta-training images come from: Debian's Fashion-MNIST, or a folder with one sub-folder per class. */
export const FewshotDatasetSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fashion-mnist') }).strict(),
  /** An idx image/label pair (MNIST-style, gzip'd or raw): one class per label value. */
  z.object({ kind: z.literal('idx'), images: Path, labels: Path }).strict(),
  z
    .object({
      kind: z.literal('folder'),
      dir: Path,
      /** Square side the images are resized to (the built-in Conv-4 takes square images). */
      size: z.number().int().min(16).max(512).default(84),
      channels: z.union([z.literal(1), z.literal(3)]).default(3)
    })
    .strict()
])
export type FewshotDatasetSpec = z.infer<typeof FewshotDatasetSpec>

export const MetaTrainArgs = z
  .object({
    dataset: FewshotDatasetSpec,
    /** Class numbers of the dataset ("0-4", "0,2,5-7"). */
    trainClasses: z.string().min(1),
    testClasses: z.string().min(1),
    rotations: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).default(1),
    config: FewshotConfig.default(FewshotConfig.parse({})),
    iterations: z.number().int().min(1).max(1_000_000),
    /** Checkpoint file (written atomically every checkpointEvery iterations, at the end and on cancel). */
    checkpoint: OutputPath,
    checkpointEvery: z.number().int().min(1).default(50),
    resume: z.boolean().default(false),
    modelOut: OutputPath.optional(),
    evalEpisodes: z.number().int().min(0).max(10_000).default(100),
    /** onnxruntime threads per operator (benchmarks, the CLI); omitted: onnxruntime's choice. */
    threads: z.number().int().min(1).max(256).optional()
  })
  .strict()

/** One meta-training iteration, streamed as a job item so the UI can plot the curves. */
export const MetaTrainItem = z.object({
  iteration: z.number(),
  loss: z.number(),
  accuracy: z.number(),
  /** Mean support loss before and after the inner steps (empty without inner steps). */
  supportLoss: z.array(z.number())
})
export type MetaTrainItem = z.infer<typeof MetaTrainItem>

export const EvaluateArgs = z
  .object({
    dataset: FewshotDatasetSpec,
    checkpoint: Path,
    testClasses: z.string().min(1),
    episodes: z.number().int().min(1).max(10_000).default(600),
    threads: z.number().int().min(1).max(256).optional()
  })
  .strict()

/** Head-only methods an imported model adapts with (its body's embeddings are computed once), from the registry. */
export const ADAPT_METHOD_NAMES = ADAPT_METHOD_IDS

/** One class of explicit few-shot sets: image files chosen one by one (the app's few-shot board). */
export const AdaptClassSet = z
  .object({
    name: z.string().trim().min(1, 'every class needs a name'),
    support: z.array(Path),
    query: z.array(Path)
  })
  .strict()
export type AdaptClassSet = z.infer<typeof AdaptClassSet>

export const AdaptArgs = z
  .object({
    /** The model to adapt (an ONNX file). */
    modelPath: Path,
    /** Folders with one sub-folder per class, the same classes in both (or give `sets`). */
    supportDir: Path.optional(),
    queryDir: Path.optional(),
    /** Explicit support and query files per class, instead of supportDir / queryDir. */
    sets: z.object({ classes: z.array(AdaptClassSet) }).strict().optional(),
    method: z.enum(ADAPT_METHOD_NAMES).default('protomaml'),
    steps: z.number().int().min(0).max(1000).default(10),
    innerRate: z.number().positive().max(10).default(0.1),
    /** The head's node or weight name, when it is not found automatically. */
    head: z.string().min(1).optional(),
    /** onnxruntime threads per operator (benchmarks); omitted: onnxruntime's choice. */
    threads: z.number().int().min(1).max(256).optional(),
    /** Folder for model.onnx and predictions.json; a fresh temporary folder when omitted. */
    out: OutputPath.optional()
  })
  .strict()
  .refine((a) => (a.sets ? !a.supportDir && !a.queryDir : !!a.supportDir && !!a.queryDir), 'give either supportDir and queryDir, or sets')

/** fewshot.adapt's defaults, read from its schema: the CLI's help, the engine and the Few-shot view's "defaults" link say the same. */
export const ADAPT_DEFAULTS = {
  method: AdaptArgs.shape.method.parse(undefined),
  steps: AdaptArgs.shape.steps.parse(undefined),
  innerRate: AdaptArgs.shape.innerRate.parse(undefined)
}

/** fewshot.adapt streams one of these per inner step (after the head's single unrolled run). */
export const AdaptItem = z.object({ step: z.number(), supportLoss: z.number() })
export type AdaptItem = z.infer<typeof AdaptItem>

const Scored = z.object({ index: z.number(), label: z.string(), probability: z.number() })

/** fewshot.adapt's job result (also predictions.json). */
export const AdaptReport = z.object({
  format: z.literal('metascope-fewshot-adapt'),
  version: z.literal(1),
  model: z.string(),
  modelSha256: z.string(),
  adaptedModel: z.string(),
  /** Browser mode: the adapted model downloads from /downloads/<downloadId> (absent in saved reports). */
  downloadId: z.string().optional(),
  head: z.object({ node: z.string(), weight: z.string(), bias: z.string().nullable().optional(), features: z.string(), featureDim: z.number(), originalClasses: z.number() }).passthrough(),
  method: z.string(),
  /** Inner steps taken: 0 for a closed-form head (ProtoNet), whatever was asked. */
  steps: z.number(),
  innerRate: z.number(),
  /** Weights the steps trained ((F + 1) x N for the new head, 0 without steps); absent in reports written before it was recorded. */
  trainedParameters: z.number().optional(),
  classes: z.array(z.string()),
  supportCounts: z.array(z.number()),
  queryCounts: z.array(z.number()),
  accuracyBefore: z.number().nullable(),
  accuracyAfter: z.number(),
  supportLoss: z.array(z.number()),
  ms: z.object({ embeddings: z.number(), adaptation: z.number() }),
  embeddings: z.object({ computed: z.number(), reused: z.number() }),
  backend: z.string(),
  provider: z.string(),
  warnings: z.array(z.object({ file: z.string(), message: z.string() })),
  predictions: z.array(
    z.object({ file: z.string(), trueClass: z.string(), before: Scored, after: Scored, correctBefore: z.boolean().nullable(), correctAfter: z.boolean() })
  )
})
export type AdaptReport = z.infer<typeof AdaptReport>

const FewshotImageRef = z.object({ path: z.string() })

/**
 * What the workspace keeps of the Few-shot view: the board (classes with their support and query
 * files), the run settings, every adaptation and meta-training run with its curves and results.
 */
export const FewshotWorkspace = z.object({
  classes: z.array(z.object({ name: z.string(), support: z.array(FewshotImageRef), query: z.array(FewshotImageRef) })),
  shots: z.number(),
  method: z.enum(ADAPT_METHOD_NAMES),
  steps: z.number(),
  innerRate: z.number(),
  runs: z.array(
    z.object({
      id: z.string(),
      createdAt: z.string(),
      status: z.enum(['running', 'done', 'failed', 'cancelled']),
      modelPath: z.string(),
      /** The fewshot.adapt arguments (sets, method, parameters) the run was made with. */
      args: z.record(z.string(), z.unknown()),
      losses: z.array(AdaptItem),
      report: AdaptReport.nullable(),
      error: ApiErrorShape.nullable(),
      camBefore: z.string().nullable(),
      camAfter: z.string().nullable()
    })
  ),
  metaRuns: z.array(
    z.object({
      id: z.string(),
      createdAt: z.string(),
      status: z.enum(['running', 'done', 'failed', 'cancelled']),
      args: z.record(z.string(), z.unknown()),
      items: z.array(MetaTrainItem),
      result: z.record(z.string(), z.unknown()).nullable(),
      error: ApiErrorShape.nullable()
    })
  )
})
export type FewshotWorkspace = z.infer<typeof FewshotWorkspace>
