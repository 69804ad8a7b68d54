import { z } from 'zod'
import { AdapterRecord } from './fewshot-adapter'
import { ApiErrorShape } from './errors'
import { AddClassesReport } from './fewshot-add'
import { FeatureChoice } from './fewshot-features'
import { OutputPath, Path } from './paths'
import { ModelPreprocess, PreprocessFields } from './preprocess'
import { ADAPT_METHOD_IDS, BATCH_NORM_MODES, FEWSHOT_METHOD_CATALOGUE, FEWSHOT_METHOD_IDS, type BatchNormMode } from './registry/fewshot-methods'

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
  seed: z.number().int().min(0).default(0),
  /** BatchNorm convention; omitted: the method's own (batchNormOf). 'running' is for methods without an inner loop. */
  batchNorm: z.enum(BATCH_NORM_MODES).optional()
})
export type FewshotConfig = z.infer<typeof FewshotConfig>

/** The BatchNorm convention a run uses: the configuration's, else the one the method's authors used. */
export function batchNormOf(c: Pick<FewshotConfig, 'method' | 'batchNorm'>): BatchNormMode {
  return c.batchNorm ?? FEWSHOT_METHOD_CATALOGUE.find((m) => m.id === c.method)!.batchNorm
}


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

/** fewshot.adapt's modes: a classifier for the new classes only, or the model's classes plus the new ones. */
export const ADAPT_MODES = ['replace', 'add'] as const
export type AdaptMode = (typeof ADAPT_MODES)[number]

/** Images of one of the model's own classes (add mode): measured before and after, never trained on. */
export const AdaptOldClass = z
  .object({
    /** One of the model's labels (or its label folder name). */
    name: z.string().trim().min(1, 'every class needs a name'),
    files: z.array(Path).min(1)
  })
  .strict()
export type AdaptOldClass = z.infer<typeof AdaptOldClass>

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
    /** Inner steps; omitted: 100 to replace the classifier, 0 to add classes (ADAPT_DEFAULTS). */
    steps: z.number().int().min(0).max(1000).optional(),
    innerRate: z.number().positive().max(10).default(0.1),
    /** The head's node or weight name, when it is not found automatically. */
    head: z.string().min(1).optional(),
    /** The tensor images are embedded with (fewshot.features lists the candidates); omitted: the automatic choice. */
    features: z.string().min(1).optional(),
    /** onnxruntime threads per operator (benchmarks); omitted: onnxruntime's choice. */
    threads: z.number().int().min(1).max(256).optional(),
    /** Preprocessing of support and query images, as cam.run takes it; a field left out is the model's own. */
    ...PreprocessFields,
    /** Folder for model.onnx and predictions.json; a fresh temporary folder when omitted. */
    out: OutputPath.optional(),
    /** 'replace' (default): the written model knows the new classes only; 'add': the model's classes plus the new ones (docs/fewshot-adapt.md). */
    mode: z.enum(ADAPT_MODES).default('replace'),
    /** Add mode: images of the model's own classes to measure with, one sub-folder per class named by a label (or label folder). */
    oldDir: Path.optional(),
    /** Add mode: the same as explicit files per class (the app's board classes named like a label). */
    oldClasses: z.array(AdaptOldClass).optional(),
    /** Deeper adaptation: fine-tune the last `depth` blocks of the body with the new head; 0: the head only (docs/fewshot-adapt.md). */
    depth: z.number().int().min(0).max(1000).default(0),
    /** Deeper adaptation: Adam steps at most (early stopping may choose fewer). */
    deepSteps: z.number().int().min(1).max(1000).default(50),
    /** Deeper adaptation: Adam's learning rate for the blocks and the head. */
    deepRate: z.number().positive().max(1).default(3e-3),
    /** Deeper adaptation: seeded flip, crop and colour-jitter views of the support images; omitted: on when depth > 0. */
    augment: z.boolean().optional(),
    /** Deeper adaptation: the seed of the augmented views and of the held-out images. */
    seed: z.number().int().min(0).default(0),
    /** Deeper adaptation: choose the step count by holding out one support image per class (2+ shots per class). */
    earlyStop: z.boolean().default(true),
    /** A feature adapter file written by fewshot.adapter: the new head reads the features through it (docs/fewshot-adapt.md). */
    adapter: Path.optional()
  })
  .strict()
  .refine((a) => a.depth === 0 || a.mode !== 'add', { message: "fine-tuning blocks (depth > 0) replaces the classifier; it does not combine with adding classes (mode 'add')", path: ['depth'] })
  .refine((a) => a.depth > 0 || !a.augment, { message: 'augmentation is for fine-tuning blocks: give a depth of 1 or more', path: ['augment'] })
  .refine((a) => (a.sets ? !a.supportDir && !a.queryDir : !!a.supportDir && !!a.queryDir), 'give either supportDir and queryDir, or sets')
  .refine((a) => a.mode === 'add' || (a.oldDir === undefined && a.oldClasses === undefined), {
    message: "images of the model's own classes are measured only when adding classes (mode 'add')",
    path: ['oldDir']
  })
  .refine((a) => a.oldDir === undefined || a.oldClasses === undefined, { message: 'give either oldDir or oldClasses, not both', path: ['oldClasses'] })

/** fewshot.adapt's defaults, read from its schema: the CLI's help, the engine and the Few-shot view's "defaults" link say the same. */
export const ADAPT_DEFAULTS = {
  method: AdaptArgs.shape.method.parse(undefined),
  /** Steps when replacing the classifier, and when adding classes (imprinted rows, no refinement: docs/fewshot-adapt.md). */
  steps: 100,
  addSteps: 0,
  innerRate: AdaptArgs.shape.innerRate.parse(undefined),
  mode: AdaptArgs.shape.mode.parse(undefined)
}

/** Deeper adaptation's defaults, read from the schema (the CLI's help says the same). */
export const ADAPT_DEEP_DEFAULTS = {
  deepSteps: AdaptArgs.shape.deepSteps.parse(undefined),
  deepRate: AdaptArgs.shape.deepRate.parse(undefined)
}

/** fewshot.adapt streams one of these per inner step as it is measured (adding classes: after its refinement pass). */
export const AdaptItem = z.object({
  step: z.number(),
  supportLoss: z.number(),
  /** Deeper adaptation: 'validation' while early stopping measures held-out images, then 'final'; absent for the head only. */
  phase: z.enum(['validation', 'final']).optional(),
  /** Deeper adaptation, validation phase: the held-out support images' loss after this step. */
  heldOutLoss: z.number().optional()
})
export type AdaptItem = z.infer<typeof AdaptItem>

const Scored = z.object({ index: z.number(), label: z.string(), probability: z.number() })

/**
 * The preprocessing an adaptation embedded its images with, and where each field came from: the
 * model's metadata or input layers (stated), the caller (chosen), or Metascope's assumption (default).
 */
const StatedOrChosen = z.enum([...ModelPreprocess.shape.source.shape.normalization.options, 'chosen'])
export const AdaptPreprocess = ModelPreprocess.pick({ channels: true, normalization: true, resize: true, channelOrder: true, size: true }).extend({
  source: z.object({ normalization: StatedOrChosen, resize: StatedOrChosen, channelOrder: StatedOrChosen, size: ModelPreprocess.shape.source.shape.size })
})
export type AdaptPreprocess = z.infer<typeof AdaptPreprocess>

/** What deeper adaptation did: the blocks fine-tuned, the augmentation, and the step count early stopping chose. */
export const AdaptDeep = z.object({
  depth: z.number(),
  blocks: z.array(z.string()),
  /** The tensor the fine-tuned part starts from (the frozen part runs up to it once per image). */
  cut: z.string(),
  augment: z.boolean(),
  /** Views per support image (the image and its augmented copies). */
  views: z.number(),
  seed: z.number(),
  rate: z.number(),
  stepsAsked: z.number(),
  /** Steps of the final run (chosen by early stopping when it ran). */
  steps: z.number(),
  /** Early stopping's held-out loss after 0..stepsAsked steps; null when it did not run. */
  heldOutLoss: z.array(z.number()).nullable(),
  trainedParameters: z.number(),
  ms: z.object({ frozen: z.number(), training: z.number() })
})
export type AdaptDeep = z.infer<typeof AdaptDeep>

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
  /** 'replace' or 'add' (the model's classes kept); absent in reports written before there was a choice. */
  mode: z.enum(ADAPT_MODES).optional(),
  /** Add mode: labels, new-class accuracy, old-class accuracy before and after, or the proxy (src/shared/fewshot-add.ts). */
  addClasses: AddClassesReport.optional(),
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
  /** The feature tensor the head was adapted on; absent in reports written before it was recorded. */
  features: FeatureChoice.optional(),
  /** The preprocessing support and query images were embedded with; absent in reports written before it was recorded. */
  preprocess: AdaptPreprocess.optional(),
  /** Deeper adaptation (depth > 0): what was fine-tuned and how; absent for head-only adaptation. */
  deep: AdaptDeep.optional(),
  /** The feature adapter the head was adapted after, when one was given. */
  adapter: AdapterRecord.optional(),
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
  /** Absent in workspaces saved before classes could be added. */
  mode: z.enum(ADAPT_MODES).optional(),
  addSteps: z.number().optional(),
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
