import { z } from 'zod'
import { ApiErrorShape } from './errors'
import { OutputPath, Path } from './paths'
import { PreprocessFields } from './preprocess'
import { AUDIT_METRIC_IDS, AUDIT_NUMBER_KEYS, AUDIT_VERDICT_KEYS, AUDIT_WHY_KEYS, type AuditMetricId, type AuditNumberKey, type AuditVerdictKey, type AuditWhyKey } from './registry/audit-metrics'
import { CAM_METHOD_CATALOGUE, type CamMethodEntry } from './registry/cam-methods'

/**
 * The model-audit part of the API contract (issue #11): what `audit.run` takes, the progress it
 * reports, the per-image items it streams and the summary it returns. The CLI (`audit`, `audit merge`),
 * the report and the UI all read these shapes; audit.json on disk is an AuditFile.
 */

/**
 * The methods an audit takes: the CAMs and the gradient pixel attributions (issue #23 item 6), each run
 * with the API's default parameters, its map normalised to [0, 1] at the input size (signed ones by
 * magnitude, as they are shown). The perturbation attributions (Occlusion, RISE) are not taken yet:
 * their window and cell sizes are not audit settings, and the defaults do not fit every model (RISE's
 * 32-pixel cells exceed the demo's 28-pixel input).
 */
export const AUDIT_METHOD_GROUPS = ['cam', 'gradient'] as const
export type AuditCamMethod = Extract<CamMethodEntry, { group: (typeof AUDIT_METHOD_GROUPS)[number] }>['id']
export const AUDIT_CAM_METHODS = CAM_METHOD_CATALOGUE.filter((m) => (AUDIT_METHOD_GROUPS as readonly string[]).includes(m.group)).map((m) => m.id) as unknown as readonly [AuditCamMethod, ...AuditCamMethod[]]

/** The audit metrics: the registry's ids (src/shared/registry/audit-metrics.ts says what each measures). */
export const AUDIT_METRICS = AUDIT_METRIC_IDS
export type AuditMetric = AuditMetricId

export const AuditSettings = z
  .object({
    methods: z.array(z.enum(AUDIT_CAM_METHODS)).min(1, 'give at least one method').default(['gradcam']),
    /** `auto`, a tensor name or an exporter module scope (as cam.run). */
    layer: z.string().min(1).default('auto'),
    metrics: z.array(z.enum(AUDIT_METRICS)).min(1, 'give at least one metric').default([...AUDIT_METRIC_IDS]),
    /** What removed pixels become (deletion) and what insertion starts from. */
    baseline: z.enum(['blur', 'mean']).default('blur'),
    /** Deletion/insertion curve points = steps + 1. */
    steps: z.number().int().min(2).max(256).default(20),
    /** ROAD: per cent of pixels removed, most- and least-relevant-first. */
    roadPercentiles: z.array(z.number().gt(0).lt(100)).min(1).default([10, 30, 50, 70, 90]),
    /** ROAD's noisy linear imputation: standard deviation of the noise added to imputed values. */
    roadNoise: z.number().min(0).max(1).default(0.01),
    /** Sanity check: N images spread evenly over the sorted set. */
    sanityImages: z.number().int().min(1).max(64).default(4),
    /** Sanity check: at most this many cascade steps (evenly spread; the last randomises every layer). */
    sanitySteps: z.number().int().min(1).max(200).default(8),
    /** Where it looks: groups of similar maps. */
    clusters: z.number().int().min(1).max(32).default(4),
    /** Reliability diagram bins (equal width over confidence). */
    bins: z.number().int().min(2).max(100).default(15),
    /** Worst cases kept per list. */
    worst: z.number().int().min(1).max(64).default(8),
    /** Images per CAM run and perturbed inputs per forward run. */
    batch: z.number().int().min(1).max(256).default(8),
    seed: z.number().int().min(0).default(0),
    /** The same preprocessing choices as cam.run's (BGR and dynamic-size models included); omitted: the model's own. */
    ...PreprocessFields
  })
  .strict()
export type AuditSettings = z.infer<typeof AuditSettings>

/** `K/N`: the K-th (1-based) of N deterministic parts of the sorted inputs. */
export const ShardSpec = z.string().regex(/^\d+\/\d+$/, 'a shard is K/N, e.g. 1/4')

export const AuditArgs = z
  .object({
    modelPath: Path,
    labelsPath: Path.optional(),
    /** A folder: images directly in it (unlabelled) or one sub-folder per class (labels = folder names). */
    imagesDir: Path,
    /** Where audit.json, the CSVs and report.html go (default: a new temporary folder). */
    out: OutputPath.optional(),
    settings: AuditSettings.default(AuditSettings.parse({})),
    shard: ShardSpec.optional(),
    /**
     * Class index per class folder name, for folders the model's labels do not name (a model without
     * labels, or folders named otherwise): given, it replaces matching by name for every folder.
     */
    folderClasses: z.record(z.string().min(1), z.number().int().min(0)).optional(),
    /** JSON file: { "<relative image path>": [x0, y0, x1, y1] } in [0, 1] image coordinates, for the pointing game. */
    boxesPath: Path.optional()
  })
  .strict()
export type AuditArgs = z.input<typeof AuditArgs>

/** Job progress phases (job.progress `phase`), in order. */
export const AUDIT_PHASES = ['listing', 'computing', 'sanity', 'report'] as const
export const AuditProgress = z.object({
  phase: z.enum(AUDIT_PHASES),
  done: z.number(),
  total: z.number(),
  message: z.string().optional()
})
export type AuditProgress = z.infer<typeof AuditProgress>

/** One method's numbers for one image. Areas are in [0, 1]; probabilities are of the target class. */
export const ImageMethodNumbers = z.object({
  /** The class the map is for: the model's top-1. */
  target: z.number(),
  deletion: z.number().optional(),
  insertion: z.number().optional(),
  deletionCurve: z.array(z.number()).optional(),
  insertionCurve: z.array(z.number()).optional(),
  /** Target probability after removing each ROAD percentile, most relevant first / least relevant first. */
  roadMorf: z.array(z.number()).optional(),
  roadLerf: z.array(z.number()).optional(),
  /** p(target | image * map) - p(target | image). */
  confidenceChange: z.number().optional(),
  /** Share of map mass on the border band (outer 10% each side) and outside the central half. */
  border: z.number().optional(),
  offCentre: z.number().optional(),
  /** Pointing game hit and energy in the box, when a box was given. */
  pointing: z.boolean().optional(),
  energyInBox: z.number().optional(),
  /** The map at 16x16 (area mean), quantised to bytes, base64: class means and clusters come from these. */
  small: z.string().optional()
})
export type ImageMethodNumbers = z.infer<typeof ImageMethodNumbers>

/** One image's record (also streamed as the `audit` job's items, without `small`). */
export const AuditImage = z.object({
  /** Path relative to the images folder, '/'-separated: the key shards and merges sort by. */
  path: z.string(),
  /** Class index of the folder label, or null for an unlabelled set. */
  label: z.number().nullable(),
  predicted: z.number().optional(),
  confidence: z.number().optional(),
  /** Probability of the labelled class. */
  labelProbability: z.number().optional(),
  methods: z.record(z.string(), ImageMethodNumbers).optional(),
  error: ApiErrorShape.optional()
})
export type AuditImage = z.infer<typeof AuditImage>

export const SanityImage = z.object({
  path: z.string(),
  /** Per method: similarity to the original map after each cascade step. */
  methods: z.record(z.string(), z.object({ spearman: z.array(z.number()), ssim: z.array(z.number()) }))
})
export type SanityImage = z.infer<typeof SanityImage>

export const WorstCase = z.object({
  path: z.string(),
  label: z.number().nullable(),
  predicted: z.number(),
  confidence: z.number(),
  /** The number the list is sorted by (e.g. confidence, or a method's deletion area). */
  score: z.number(),
  /** The image as the model sees it, and its overlay per method, as PNG data URLs. */
  image: z.string(),
  overlays: z.record(z.string(), z.string())
})
export type WorstCase = z.infer<typeof WorstCase>

export const ModelIdentity = z.object({
  file: z.string(),
  sha256: z.string(),
  bytes: z.number(),
  inputs: z.array(z.object({ name: z.string(), elemType: z.string(), shape: z.array(z.union([z.number(), z.string(), z.null()])) })),
  numClasses: z.number(),
  labels: z.array(z.string()),
  preprocessing: z.object({
    size: z.tuple([z.number(), z.number()]),
    layout: z.enum(['NCHW', 'NHWC']),
    normalization: z.string(),
    resize: z.string(),
    channels: z.number(),
    /** Absent in audits written before the channel order was recorded (they were all rgb). */
    channelOrder: z.enum(['rgb', 'bgr']).optional()
  }),
  /** The tensor `layer` resolved to. */
  layer: z.string()
})
export type ModelIdentity = z.infer<typeof ModelIdentity>

export const DatasetIdentity = z.object({
  /** The folder as given (informational; not compared by merge). */
  dir: z.string(),
  count: z.number(),
  /** sha256 of the sorted relative paths joined by newlines (with their labels). */
  listSha256: z.string(),
  labelled: z.boolean(),
  /** Folder name per class index (labelled sets). */
  classFolders: z.array(z.string()).nullable()
})
export type DatasetIdentity = z.infer<typeof DatasetIdentity>

/**
 * The ranking's columns, one per registry column: a mean per method, or a pass/flag verdict with the
 * verdicts that flagged it (its `why` field). A column added after an audit was saved reads as null.
 */
const numberColumns = Object.fromEntries(AUDIT_NUMBER_KEYS.map((k) => [k, z.number().nullable().default(null)])) as Record<AuditNumberKey, z.ZodDefault<z.ZodNullable<z.ZodNumber>>>
const verdictColumns = Object.fromEntries(AUDIT_VERDICT_KEYS.map((k) => [k, z.boolean().nullable().default(null)])) as Record<AuditVerdictKey, z.ZodDefault<z.ZodNullable<z.ZodBoolean>>>
const whyColumns = Object.fromEntries(AUDIT_WHY_KEYS.map((k) => [k, z.array(z.string()).nullable().default(null)])) as Record<AuditWhyKey, z.ZodDefault<z.ZodNullable<z.ZodArray<z.ZodString>>>>

export const MethodRow = z.object({
  method: z.string(),
  images: z.number(),
  ...numberColumns,
  /** 1 = best, by insertion - deletion (then the ROAD gap, then the confidence change). */
  rank: z.number(),
  ...verdictColumns,
  ...whyColumns
})
export type MethodRow = z.infer<typeof MethodRow>

export const ReliabilityBin = z.object({ lo: z.number(), hi: z.number(), count: z.number(), accuracy: z.number().nullable(), confidence: z.number().nullable() })
export type ReliabilityBin = z.infer<typeof ReliabilityBin>

export const CalibrationSummary = z.object({
  images: z.number(),
  accuracy: z.number(),
  perClass: z.array(z.object({ index: z.number(), label: z.string(), count: z.number(), correct: z.number(), accuracy: z.number().nullable() })),
  /** confusion[true][predicted] counts. */
  confusion: z.array(z.array(z.number())),
  bins: z.array(ReliabilityBin),
  ece: z.number(),
  mostConfidentMistakes: z.array(WorstCase),
  leastConfidentCorrect: z.array(WorstCase)
})
export type CalibrationSummary = z.infer<typeof CalibrationSummary>

/**
 * The randomisation check's two verdicts: `class-layer`, the maps hardly change when only the top
 * (class) layer is re-drawn (mean Spearman >= 0.8); `all-layers`, they still agree with the originals
 * when every layer is re-drawn (mean Spearman >= 0.5 or SSIM >= 0.8). docs/audit.md states both.
 */
export const SANITY_VERDICTS = ['class-layer', 'all-layers'] as const
export type SanityVerdict = (typeof SANITY_VERDICTS)[number]

export const SanitySummary = z.object({
  images: z.array(z.string()),
  /** What step i randomised (cumulatively, from the top): the last layer name randomised. */
  steps: z.array(z.object({ layer: z.string(), layersRandomised: z.number() })),
  methods: z.record(
    z.string(),
    z.object({
      spearman: z.array(z.number()),
      ssim: z.array(z.number()),
      /** Either verdict flagged it. */
      flagged: z.boolean(),
      /** Which verdicts flagged it (empty: it passes both; absent in audits saved before the class-layer verdict). */
      flaggedBy: z.array(z.enum(SANITY_VERDICTS)).default([]),
      /** Mean Spearman to the original maps with only the top (class) layer re-drawn; null when no step re-drew it alone. */
      classLayerSpearman: z.number().nullable().default(null),
      reason: z.string()
    })
  )
})
export type SanitySummary = z.infer<typeof SanitySummary>

export const ClassLook = z.object({
  index: z.number(),
  label: z.string(),
  count: z.number(),
  /** 16x16 mean map, row-major, in [0, 1]. */
  mean: z.array(z.number()),
  border: z.number(),
  offCentre: z.number()
})

export const Cluster = z.object({
  size: z.number(),
  /** 16x16 centroid. */
  centroid: z.array(z.number()),
  border: z.number(),
  /** Members closest to the centroid first (at most 12). */
  members: z.array(z.object({ path: z.string(), label: z.number().nullable(), predicted: z.number(), small: z.string() }))
})

export const WhereSummary = z.object({
  method: z.string(),
  /** Grouped by label when the set is labelled, else by predicted class. */
  groupedBy: z.enum(['label', 'predicted']),
  classes: z.array(ClassLook),
  clusters: z.array(Cluster),
  pointing: z.object({ images: z.number(), hitRate: z.number(), energyInBox: z.number() }).nullable()
})
export type WhereSummary = z.infer<typeof WhereSummary>

export const AuditSummary = z.object({
  images: z.number(),
  failed: z.number(),
  methods: z.array(MethodRow),
  /** Mean curves per method: deletion/insertion over steps + 1 fractions; ROAD over the percentiles. */
  curves: z.record(
    z.string(),
    z.object({ deletion: z.array(z.number()).nullable(), insertion: z.array(z.number()).nullable(), roadMorf: z.array(z.number()).nullable(), roadLerf: z.array(z.number()).nullable() })
  ),
  worstFaithfulness: z.record(z.string(), z.array(WorstCase)),
  calibration: CalibrationSummary.nullable(),
  sanity: SanitySummary.nullable(),
  where: WhereSummary.nullable()
})
export type AuditSummary = z.infer<typeof AuditSummary>

export const Software = z.object({ app: z.string(), node: z.string(), provider: z.string(), libraries: z.record(z.string(), z.string()) })

/** audit.json: everything a report (or a merge) is made from. A shard's file covers its part. */
export const AuditFile = z.object({
  format: z.literal('metascope-audit'),
  version: z.literal(1),
  model: ModelIdentity,
  dataset: DatasetIdentity,
  settings: AuditSettings,
  /** null = the whole set (an unsharded run or a merge). */
  shard: z.object({ index: z.number(), count: z.number() }).nullable(),
  software: Software,
  images: z.array(AuditImage),
  sanity: z.object({ steps: SanitySummary.shape.steps, images: z.array(SanityImage) }).nullable(),
  /** Each shard's best candidates per worst-case list; merge keeps the global worst from their union. */
  worst: z.record(z.string(), z.array(WorstCase)),
  summary: AuditSummary
})
export type AuditFile = z.infer<typeof AuditFile>

/**
 * The names an audit shows classes by: the model's labels; where the model has none (its label is
 * just the class number), the class folder the images sit in, so a cell reads "Pullover -> Coat"
 * rather than "2 -> 4". The report, the CSVs and the Audit view all use it.
 */
export function auditClassNames(f: { model: Pick<ModelIdentity, 'labels' | 'numClasses'>; dataset: Pick<DatasetIdentity, 'classFolders'> }): string[] {
  const folders = f.dataset.classFolders ?? []
  return Array.from({ length: f.model.numClasses }, (_, i) => {
    const label = f.model.labels[i]
    return label === undefined || label === String(i) ? (folders[i] ?? String(i)) : label
  })
}

/** What the `audit.run` job returns. */
export const AuditResult = z.object({
  out: z.string(),
  report: z.string(),
  json: z.string(),
  csv: z.array(z.string()),
  model: ModelIdentity,
  dataset: DatasetIdentity,
  shard: AuditFile.shape.shard,
  summary: AuditSummary,
  /** Browser mode: report.html offered under /downloads/<id>. */
  downloadId: z.string().optional()
})
export type AuditResult = z.infer<typeof AuditResult>
