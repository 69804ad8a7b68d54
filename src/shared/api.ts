import { z } from 'zod'
import { COLORMAP_NAMES } from './colormap'
import { ApiErrorShape } from './errors'
import { AdaptArgs, EvaluateArgs, FewshotWorkspace, MetaTrainArgs } from './fewshot'
import { FeaturesArgs, FeaturesResult, SuggestFeaturesArgs } from './fewshot-features'
import { AdapterArgs, AdapterInfoArgs, AdapterRecord } from './fewshot-adapter'
import { AuditArgs, AuditImage, AuditResult } from './audit'
import { OutputPath, Path } from './paths'
import { ModelPreprocess, PreprocessFields } from './preprocess'
import { CAM_METHOD_IDS } from './registry/cam-methods'
import { MODEL_FORMAT_IDS } from './registry/model-formats'
import { OUTPUT_KINDS } from './targets'

/**
 * The API contract: every call the UI can make, with its argument and result schemas. Both transports
 * (Electron IPC and browser-mode HTTP) and the engine process validate against this one table.
 * Every call takes one object argument so schemas stay extensible without breaking callers.
 */

export const BackendInfo = z.object({
  onnxruntime: z.object({
    version: z.string(),
    /** Execution providers whose binaries are present in this install. */
    available: z.array(z.string()),
    /** The provider sessions are created with, in preference order. */
    inUse: z.array(z.string()),
    note: z.string().optional()
  }),
  tfjs: z.object({
    version: z.string().nullable(),
    backend: z.string().nullable(),
    /** Why this backend: e.g. "tfjs-node-gpu not installed; tfjs-node not installed; using pure-JS cpu". */
    reason: z.string()
  })
})
export type BackendInfo = z.infer<typeof BackendInfo>

export const AppInfo = z.object({
  name: z.literal('metascope'),
  version: z.string(),
  node: z.string(),
  electron: z.string().nullable(),
  platform: z.string(),
  arch: z.string(),
  libraries: z.record(z.string(), z.string()),
  backends: BackendInfo
})
export type AppInfo = z.infer<typeof AppInfo>

export const TensorInfo = z.object({
  name: z.string(),
  elemType: z.string(),
  /** Dimensions; strings are symbolic (e.g. "batch"), null is unknown. */
  shape: z.array(z.union([z.number(), z.string(), z.null()]))
})
export type TensorInfo = z.infer<typeof TensorInfo>

export const ModelSummary = z.object({
  id: z.string(),
  path: z.string(),
  /** The file's own format; every format is opened as the same ONNX IR. */
  format: z.enum(MODEL_FORMAT_IDS),
  fileBytes: z.number(),
  irVersion: z.number(),
  opsets: z.record(z.string(), z.number()),
  producer: z.string(),
  inputs: z.array(TensorInfo),
  outputs: z.array(TensorInfo),
  nodeCount: z.number(),
  parameterCount: z.number(),
  opTypes: z.record(z.string(), z.number()),
  metadata: z.record(z.string(), z.string()),
  labels: z.array(z.string()).nullable(),
  /** What a run uses when nothing is chosen, computed by the engine so the UI never re-derives it. */
  preprocess: ModelPreprocess,
  /** What the first output is (classes, multi-label, regression, scores-or-embedding, segmentation): which targets fit (src/shared/targets.ts). */
  outputKind: z.enum(OUTPUT_KINDS).optional(),
  /** Problems that did not stop the model from opening (e.g. labels metadata that does not fit; class numbers are shown). */
  warnings: z.array(z.string()).optional()
})
export type ModelSummary = z.infer<typeof ModelSummary>

export const ImageEntry = z.object({
  id: z.string(),
  path: z.string(),
  name: z.string(),
  width: z.number(),
  height: z.number(),
  format: z.string(),
  bytes: z.number(),
  /** Parent folder name: the expected label when a folder of class sub-folders is added. */
  folderLabel: z.string().nullable()
})
export type ImageEntry = z.infer<typeof ImageEntry>

export const ImageProblem = z.object({ file: z.string(), error: ApiErrorShape })

export const ImagesAddResult = z.object({
  added: z.array(ImageEntry),
  /** Files that could not be read: the rest are still added. */
  failed: z.array(ImageProblem)
})
export type ImagesAddResult = z.infer<typeof ImagesAddResult>

const JobStarted = z.object({ jobId: z.string() })

/** The CAM method ids, from the registry (src/shared/registry/cam-methods.ts). */
export const CAM_METHOD_NAMES = CAM_METHOD_IDS

export const LayerInfo = z.object({ name: z.string(), op: z.string(), shape: z.array(z.number()) })
export type LayerInfo = z.infer<typeof LayerInfo>

export const ModelInspection = z.object({
  summary: ModelSummary,
  numClasses: z.number(),
  /** What `auto` resolves to, or null when the model has no 4-D layer. */
  autoLayer: z.string().nullable(),
  layers: z.array(LayerInfo)
})
export type ModelInspection = z.infer<typeof ModelInspection>

export const Prediction = z.object({ index: z.number(), label: z.string(), probability: z.number() })
export type Prediction = z.infer<typeof Prediction>

/**
 * A result's id: a UUID the engine made. Ids name files in a workspace's results/ folder, so anything
 * else (a crafted `../../outside/evil`) is refused at the schema.
 */
export const ResultId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'is not a result id (a UUID)')

/** One input's result, streamed as a job item by cam.run. */
export const CamItem = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    resultId: ResultId,
    file: z.string(),
    imageId: z.string().nullable(),
    top5: z.array(Prediction),
    target: Prediction.extend({ logit: z.number() }),
    layer: z.string(),
    method: z.string(),
    provider: z.string(),
    ms: z.number(),
    /** The normalised map at the model input size, as an 8-bit greyscale PNG data URL. */
    mapPng: z.string(),
    width: z.number(),
    height: z.number(),
    /**
     * Raw (ReLU'd, unnormalised) map at layer resolution, row-major, for shared-scale views. A pixel
     * attribution's is its per-pixel map at the input's resolution, signed for the signed methods.
     */
    raw: z.array(z.number()),
    rawShape: z.tuple([z.number(), z.number()]),
    /** The tensor differentiated: the class scores before a final Softmax/LogSoftmax/Sigmoid, or the output itself. */
    scoreTensor: z.string().optional(),
    /** Why a map may mislead, e.g. all zero because every weighted sum was negative. */
    warnings: z.array(z.string()).optional(),
    /** Integrated Gradients: sum(attribution) - (F(x) - F(baseline)) (Captum's convergence delta), and F(x) - F(baseline). */
    completeness: z.object({ error: z.number(), delta: z.number() }).optional(),
    /** The method's parameters (a pixel attribution's steps, baseline, samples, noise, seed). */
    params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    /** A segmentation model's predicted mask: an RGBA PNG data URL at the output's resolution, one colour per class, class 0 clear. */
    maskPng: z.string().optional()
  }),
  z.object({ ok: z.literal(false), file: z.string(), imageId: z.string().nullable(), error: ApiErrorShape })
])
export type CamItem = z.infer<typeof CamItem>
const FailedCamItem = CamItem.options[1]

/** A result as workspace.json keeps it: its maps live in results/ (the PNG and raw values are rebuilt from them on open). */
export const StoredCamItem = z.discriminatedUnion('ok', [CamItem.options[0].omit({ mapPng: true, raw: true }), FailedCamItem])
export type StoredCamItem = z.infer<typeof StoredCamItem>

/** A result as a save request names it: the engine has everything else (so a request stays small for thousands of results). */
export const CamItemRef = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), resultId: ResultId, imageId: z.string().nullable() }), FailedCamItem])
export type CamItemRef = z.infer<typeof CamItemRef>


/** Preprocessing a user chose for one model, as cam.run takes it; a field left out is the model's own default. */
export const PreprocessChoice = z.object(PreprocessFields)
export type PreprocessChoice = z.infer<typeof PreprocessChoice>

export const CamSettings = z.object({
  method: z.enum(CAM_METHOD_NAMES),
  layer: z.string(),
  target: z.union([z.string(), z.number().int()]),
  colormap: z.enum(COLORMAP_NAMES),
  alpha: z.number().min(0).max(1),
  sharedScale: z.boolean(),
  /** Signed attributions shown by magnitude (the colour map) or by sign (blue-white-red); older workspaces: magnitude. */
  signView: z.enum(['magnitude', 'sign']).default('magnitude'),
  /** The pixel attributions' parameters as the run panel held them (lazy: AttributionFields is declared below). */
  attribution: z.lazy(() => z.object(AttributionFields).partial()).optional(),
  /** Preprocessing chosen per model (by model path); a field left out is the model's own default. */
  preprocess: z.record(z.string(), PreprocessChoice).optional()
})
export type CamSettings = z.infer<typeof CamSettings>

/** One cam.run as the UI keeps it: its settings and the items that streamed in. */
export const CamRunRecord = z.object({
  id: z.string(),
  modelId: z.string(),
  modelPath: z.string(),
  method: z.enum(CAM_METHOD_NAMES),
  layer: z.string(),
  target: z.union([z.string(), z.number().int()]),
  createdAt: z.string(),
  status: z.enum(['running', 'done', 'failed', 'cancelled']),
  items: z.array(CamItem)
})
export type CamRunRecord = z.infer<typeof CamRunRecord>

const WorkspaceBase = z.object({
  format: z.literal('metascope-workspace'),
  savedAt: z.string(),
  model: z.object({ path: z.string(), labelsPath: z.string().optional() }).nullable(),
  images: z.array(z.string()),
  settings: CamSettings,
  /** The Few-shot view's sets, runs and results (absent in workspaces saved before it existed). */
  fewshot: FewshotWorkspace.optional(),
  /** Finished audits, each saved (copied, not recomputed) into its own folder of the workspace. */
  audits: z.array(z.object({ dir: z.string(), args: AuditArgs })).optional()
})
const runsOf = <T extends z.ZodTypeAny>(item: T) => z.array(CamRunRecord.extend({ items: z.array(item) }))

/**
 * A workspace as the UI holds it (what workspace.open returns): every result complete. A workspace
 * folder holds workspace.json and results/ (the exact float maps of every run, so exports still work
 * after reopening), saved atomically: write to a temporary file, then rename.
 */
export const Workspace = WorkspaceBase.extend({ version: z.union([z.literal(1), z.literal(2)]), runs: z.array(CamRunRecord) })
export type Workspace = z.infer<typeof Workspace>

/** What workspace.save sends: results by id only; the engine writes the rest from what it keeps. */
export const WorkspaceDraft = WorkspaceBase.extend({ version: z.literal(2), runs: runsOf(CamItemRef) })
export type WorkspaceDraft = z.infer<typeof WorkspaceDraft>

/** workspace.json: version 2 keeps results without their maps (in results/); version 1 files had them inline. */
export const WorkspaceFile = z.union([WorkspaceBase.extend({ version: z.literal(2), runs: runsOf(StoredCamItem) }), Workspace.extend({ version: z.literal(1) })])
export type WorkspaceFile = z.infer<typeof WorkspaceFile>

/** The conversion check of a TensorFlow.js model (models.checkConversion's job result). */
export const ConversionCheck = z.object({
  source: z.enum(['probe', 'images']),
  images: z.number(),
  maxAbsDiff: z.number(),
  maxAbs: z.number(),
  output: z.string(),
  backend: z.string(),
  ms: z.number()
})
export type ConversionCheck = z.infer<typeof ConversionCheck>

/** The converted graph agrees with TensorFlow.js: within 1e-4 of the output's scale (absolute below 1). */
export function conversionAgrees(c: ConversionCheck): boolean {
  return c.maxAbsDiff <= 1e-4 * Math.max(1, c.maxAbs)
}

export const DemoInfo = z.object({
  available: z.boolean(),
  modelPath: z.string(),
  imagesDir: z.string(),
  description: z.string(),
  /** The few-shot demo: a model that knows some classes, and support/query folders (one sub-folder per class) of classes it never saw. */
  fewshot: z.object({
    available: z.boolean(),
    modelPath: z.string(),
    supportDir: z.string(),
    queryDir: z.string(),
    description: z.string()
  })
})
export type DemoInfo = z.infer<typeof DemoInfo>

/**
 * The pixel attributions' parameters. Integrated Gradients: `steps` points from `baseline` to the image,
 * weighted by `integration`; the SmoothGrad family: `samples` noisy copies with noise of standard
 * deviation `noise` x (max - min of the image). `seed` makes the noise and the uniform baseline repeatable.
 */
export const AttributionFields = {
  steps: z.number().int().min(2).max(1024).default(32),
  integration: z.enum(['gausslegendre', 'trapezoid']).default('gausslegendre'),
  baseline: z.enum(['black', 'blurred', 'uniform', 'image']).default('black'),
  /** The start of the path when `baseline` is `image`. */
  baselineImage: Path.optional(),
  samples: z.number().int().min(1).max(1024).default(25),
  noise: z.number().min(0).max(1).default(0.15),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** Occlusion: the square window's side and its step, in input pixels (Captum's sliding_window_shapes (C, window, window), strides). */
  window: z.number().int().min(1).max(1024).default(16),
  stride: z.number().int().min(1).max(1024).default(8),
  /**
   * RISE: how many random masks, the side of a grid cell in input pixels (left out: the input's shorter
   * side / 7, rounded up, the paper's 7 x 7 grid, so it fits any input size), and the probability a cell keeps the image.
   */
  masks: z.number().int().min(1).max(20000).default(1000),
  cellSize: z.number().int().min(1).max(1024).optional(),
  keep: z.number().gt(0).max(1).default(0.5)
}

/** The parameters' defaults, read from the schema (the engine's callers that pass none get the same). */
export const ATTRIBUTION_DEFAULTS = z.object(AttributionFields).parse({})

/** What a CAM run computes, apart from the model and the images: cam.run's settings, and the CLI `cam` flags. */
export const CamRunSettings = z.object({
  method: z.enum(CAM_METHOD_NAMES).default('gradcam'),
  /** auto, a tensor name or a module scope; or several separated by commas, whose CAMs are averaged (pytorch-grad-cam's multi-layer CAM). */
  layer: z.string().default('auto'),
  /** 'top1', a class index, a label, or contrast:A,B | output:k | region:C@x0,y0,x1,y1 | similarity:FILE (src/shared/targets.ts). */
  target: z.union([z.string(), z.number().int()]).default('top1'),
  batch: z.number().int().min(1).max(256).default(8),
  /** Preprocessing; a field left out is the model's own (metadata), else imagenet / stretch / rgb / 224x224. */
  ...PreprocessFields,
  /** onnxruntime threads per operator (benchmarks, the CLI); omitted: onnxruntime's choice. */
  threads: z.number().int().min(1).max(256).optional(),
  /** Pixel attributions' parameters (ATTRIBUTION_PARAMS in the method registry); the CAMs ignore them. */
  ...AttributionFields
})

/** A name the caller gives a slow call: the engine then sends its phases as call.progress events under it. */
const ProgressId = z.string().min(1).max(100).optional()

export const methods = {
  'app.info': { args: z.object({}).strict(), result: AppInfo },
  'models.open': {
    args: z.object({ path: Path, labelsPath: Path.optional(), progressId: ProgressId }).strict(),
    result: ModelSummary
  },
  'images.add': {
    args: z.object({ paths: z.array(Path).min(1, 'give at least one path') }).strict(),
    result: ImagesAddResult
  },
  'models.inspect': { args: z.object({ modelId: z.string() }).strict(), result: ModelInspection },
  /**
   * A TensorFlow.js model's conversion check (a job; result ConversionCheck): the original run by
   * TensorFlow.js itself against the converted graph, on seeded probe inputs or on added images.
   */
  'models.checkConversion': {
    args: z.object({ modelId: z.string(), imageIds: z.array(z.string()).min(1).max(64).optional() }).strict(),
    result: JobStarted
  },
  /**
   * Scores every normalisation Metascope offers on these added images (a job; result
   * PreprocessSuggestion): accuracy where an image's folder names a class, else mean top-1
   * confidence. Resize, channel order and size are the caller's current choices. Nothing is applied.
   */
  'models.suggestPreprocess': {
    args: z
      .object({ modelId: z.string(), imageIds: z.array(z.string()).min(1, 'add images first').max(256), resize: PreprocessFields.resize, channelOrder: PreprocessFields.channelOrder, size: PreprocessFields.size })
      .strict(),
    result: JobStarted
  },
  'cam.run': {
    args: CamRunSettings.extend({
      modelId: z.string(),
      imageIds: z.array(z.string()).optional(),
      paths: z.array(Path).optional(),
      /** A view shows the results: never discard them to stay within the result budget until cam.release. */
      hold: z.boolean().default(false)
    })
      .strict()
      .refine((a) => (a.imageIds?.length ?? 0) + (a.paths?.length ?? 0) > 0, 'give imageIds or paths'),
    result: JobStarted
  },
  'cam.export': {
    args: z
      .object({
        resultIds: z.array(ResultId).min(1, 'nothing to export'),
        dir: OutputPath,
        colormap: z.enum(COLORMAP_NAMES).default('jet'),
        alpha: z.number().min(0).max(1).default(0.5)
      })
      .strict(),
    result: z.object({ dir: z.string(), written: z.array(z.string()) })
  },
  /**
   * Finished results are kept within a byte budget (METASCOPE_RESULT_BUDGET_MB): beyond it the oldest
   * are discarded, except those of jobs started with `hold` (and of reopened workspace runs) until they
   * are released here, by job / run id or all at once.
   */
  'cam.release': {
    args: z
      .object({ jobIds: z.array(z.string().max(100)).max(20_000).optional(), all: z.boolean().optional() })
      .strict()
      .refine((a) => a.all || a.jobIds, 'give jobIds or all'),
    result: z.object({ results: z.number(), bytes: z.number(), budgetBytes: z.number() })
  },
  'workspace.save': {
    args: z.object({ dir: OutputPath, workspace: WorkspaceDraft, progressId: ProgressId }).strict(),
    result: z.object({ dir: z.string(), file: z.string() })
  },
  'workspace.open': { args: z.object({ dir: Path, progressId: ProgressId }).strict(), result: Workspace },
  'demo.info': { args: z.object({}).strict(), result: DemoInfo },
  'images.list': { args: z.object({}).strict(), result: z.array(ImageEntry) },
  'images.remove': {
    args: z.object({ ids: z.array(z.string()) }).strict(),
    result: z.object({ removed: z.number() })
  },
  /** Meta-trains the built-in Conv-4 (job: items are MetaTrainItem per iteration; result: history, checkpoint, evaluation). */
  'fewshot.metaTrain': { args: MetaTrainArgs, result: JobStarted },
  /** Scores a meta-training checkpoint on test episodes (job: result accuracy, ci95, episodes). */
  'fewshot.evaluate': { args: EvaluateArgs, result: JobStarted },
  /** Adapts a model's head to the classes of a support folder (job: result = predictions before/after, accuracies, the adapted model's path). */
  'fewshot.adapt': { args: AdaptArgs, result: JobStarted },
  /** The tensors a model's images can be embedded with for adaptation (fewshot.adapt's `features`), the automatic one marked. */
  'fewshot.features': { args: FeaturesArgs, result: FeaturesResult },
  /** Ranks those tensors by leave-one-out nearest-centroid accuracy on a support set, 2+ images per class (job: result FeatureSuggestion). Nothing is applied. */
  'fewshot.suggestFeatures': { args: SuggestFeaturesArgs, result: JobStarted },
  /** Meta-trains a feature adapter on a labelled folder of many classes and writes it to `out` (job: items AdapterItem per iteration, result AdapterResult; src/shared/fewshot-adapter.ts). */
  'fewshot.adapter': { args: AdapterArgs, result: JobStarted },
  /** Reads an adapter file and says what it was trained on (its features tensor and widths, model, training): the checks fewshot.adapt makes of the file itself. */
  'fewshot.adapterInfo': { args: AdapterInfoArgs, result: AdapterRecord },
  /** Audits a model on a labelled folder (job: progress phases AUDIT_PHASES, items AuditImage, result AuditResult; see src/shared/audit.ts). */
  'audit.run': { args: AuditArgs, result: JobStarted },
  /** cancelled: false with a reason when the job is not running (it ended, it was lost with a stopped engine, or no such job). */
  /**
   * Saves what a finished audit or few-shot adaptation wrote (its report and data, or its model and
   * predictions) into a folder: a copy of the job's own files, nothing recomputed.
   */
  'outputs.save': {
    args: z.object({ jobId: z.string().min(1), dir: OutputPath }).strict(),
    result: z.object({ dir: z.string(), files: z.array(z.string()), main: z.string() })
  },
  /** Reopens a saved audit folder (audit.json beside its report) as a finished run; jobId saves it again. */
  'audit.open': {
    args: z.object({ dir: Path }).strict(),
    result: z.object({ jobId: z.string(), result: AuditResult, images: z.array(AuditImage) })
  },
  'jobs.cancel': { args: z.object({ jobId: z.string() }).strict(), result: z.object({ cancelled: z.boolean(), reason: z.string().optional() }) }
} as const

export type Methods = typeof methods
export type MethodName = keyof Methods
export type ArgsOf<M extends MethodName> = z.input<Methods[M]['args']>
/** Arguments after validation (defaults filled in): what the service receives. */
export type ParsedArgsOf<M extends MethodName> = z.output<Methods[M]['args']>
export type ResultOf<M extends MethodName> = z.output<Methods[M]['result']>

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name)
}
