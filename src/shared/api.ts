import { z } from 'zod'
import { ApiErrorShape } from './errors'

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
  format: z.enum(['onnx']),
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
  labels: z.array(z.string()).nullable()
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

const Path = z.string().min(1, 'path must not be empty')

export const methods = {
  'app.info': { args: z.object({}).strict(), result: AppInfo },
  'models.open': {
    args: z.object({ path: Path, labelsPath: Path.optional() }).strict(),
    result: ModelSummary
  },
  'images.add': {
    args: z.object({ paths: z.array(Path).min(1, 'give at least one path') }).strict(),
    result: ImagesAddResult
  },
  'images.list': { args: z.object({}).strict(), result: z.array(ImageEntry) },
  'images.remove': {
    args: z.object({ ids: z.array(z.string()) }).strict(),
    result: z.object({ removed: z.number() })
  },
  /** A demonstration job and the engine's liveness probe: counts to n, one step every ms. */
  'jobs.selftest': {
    args: z.object({ steps: z.number().int().min(1).max(10_000), stepMs: z.number().int().min(0).max(1000) }).strict(),
    result: JobStarted
  },
  'jobs.cancel': { args: z.object({ jobId: z.string() }).strict(), result: z.object({ cancelled: z.boolean() }) }
} as const

export type Methods = typeof methods
export type MethodName = keyof Methods
export type ArgsOf<M extends MethodName> = z.input<Methods[M]['args']>
export type ResultOf<M extends MethodName> = z.output<Methods[M]['result']>

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name)
}
