import { readFile, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { z } from 'zod'
import { ApiError } from '../../../shared/errors'
import { fileDetails, fileError } from '../errors'
import { shardFile } from './tfjs-shards'

/** The most elements one weight may declare (4 GiB of float32): beyond that the manifest is not a real model's. */
const MAX_WEIGHT_ELEMENTS = 2 ** 30

/** One entry of model.json's weightsManifest[].weights. */
const WeightSpec = z.looseObject({
  name: z.string(),
  shape: z.array(z.number().int().min(0)).refine((s) => s.reduce((p, d) => p * d, 1) <= MAX_WEIGHT_ELEMENTS, `declares more than ${MAX_WEIGHT_ELEMENTS} elements`),
  dtype: z.string(),
  quantization: z
    .looseObject({ dtype: z.string(), scale: z.number().optional(), min: z.number().optional(), original_dtype: z.string().optional() })
    .optional()
})
export type WeightSpec = z.infer<typeof WeightSpec>

const WeightGroup = z.looseObject({ paths: z.array(z.string().min(1)), weights: z.array(WeightSpec) })
export type WeightGroup = z.infer<typeof WeightGroup>

/** model.json as tfjs writes it (LayersModel and GraphModel share the envelope); unknown keys are kept. */
const TfjsModelJson = z.looseObject({
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
  modelTopology: z.custom<NonNullable<unknown>>((v) => v !== null && typeof v === 'object', 'is missing (a TensorFlow.js model.json has a modelTopology object)'),
  weightsManifest: z.array(WeightGroup).optional(),
  /** GraphModels may carry their signature (inputs/outputs) here. */
  signature: z.unknown().optional(),
  userDefinedMetadata: z.record(z.string(), z.unknown()).optional()
})
export type TfjsModelJson = z.infer<typeof TfjsModelJson>

/** A decoded weight: float32 after dequantization, int32 for integer constants. */
export interface Weight {
  shape: number[]
  dtype: 'float32' | 'int32'
  data: Float32Array | Int32Array
}

/** Cheap check on the first bytes: a .json file whose text looks like a tfjs model.json. */
export function looksLikeTfjs(path: string, head: Buffer): boolean {
  if (!/\.json$/i.test(path)) return false
  const text = head.toString('utf8')
  return /"(modelTopology|weightsManifest)"\s*:/.test(text) || /"format"\s*:\s*"(layers|graph)-model"/.test(text)
}

/** Which of the two tfjs model kinds a parsed model.json is. */
export function tfjsKind(json: TfjsModelJson): 'layers' | 'graph' {
  if (json.format === 'graph-model') return 'graph'
  if (json.format === 'layers-model') return 'layers'
  const topo = json.modelTopology as Record<string, unknown> | null
  return topo && Array.isArray(topo.node) ? 'graph' : 'layers'
}

export async function readTfjsJson(path: string): Promise<TfjsModelJson> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'model')
  })
  if (info.isDirectory()) throw new ApiError('bad-file', `${path} is a folder, not a model file.`, path, fileDetails('model', path, 'folder', { path }))
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'model')
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ApiError('bad-file', `${basename(path)} is not valid JSON, so it is not a TensorFlow.js model.json (${(err as Error).message}).`, path, fileDetails('model', path, 'not-tfjs', { reason: (err as Error).message }))
  }
  if (!json || typeof json !== 'object' || !('modelTopology' in json) || !(json as { modelTopology?: unknown }).modelTopology) {
    throw new ApiError('bad-file', `${basename(path)} is not a TensorFlow.js model: it has no modelTopology.`, path, fileDetails('model', path, 'not-tfjs', { reason: 'no modelTopology' }))
  }
  // A manifest of the wrong shape answers with the field, not with whatever JavaScript says about it.
  const parsed = TfjsModelJson.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '')
    throw new ApiError('bad-file', `${basename(path)} is not a valid TensorFlow.js model.json: ${field || 'the file'} ${issue.message.replace(/^Invalid input: /, '')}.`, path, { field })
  }
  return parsed.data
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 }

/** IEEE 754 half -> float (tfjs writes float16 weights as raw halves). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024)
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * 2 ** (exp - 15) * (1 + frac / 1024)
}

function decodeOne(spec: WeightSpec, bytes: Uint8Array, modelPath: string): Weight {
  const n = spec.shape.reduce((p, d) => p * d, 1)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const q = spec.quantization
  if (q) {
    const out = new Float32Array(n)
    if (q.dtype === 'float16') {
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true))
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const scale = q.scale ?? 1
      const min = q.min ?? 0
      for (let i = 0; i < n; i++) out[i] = (q.dtype === 'uint8' ? bytes[i] : view.getUint16(2 * i, true)) * scale + min
    } else {
      throw new ApiError('unsupported', `Weight ${spec.name} in ${basename(modelPath)} uses quantization ${q.dtype}; only uint8, uint16 and float16 are supported.`, modelPath)
    }
    if (spec.dtype === 'int32') return { shape: spec.shape, dtype: 'int32', data: Int32Array.from(out, Math.round) }
    return { shape: spec.shape, dtype: 'float32', data: out }
  }
  switch (spec.dtype) {
    case 'float32': {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true)
      return { shape: spec.shape, dtype: 'float32', data: out }
    }
    case 'int32': {
      const out = new Int32Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true)
      return { shape: spec.shape, dtype: 'int32', data: out }
    }
    case 'bool':
      return { shape: spec.shape, dtype: 'int32', data: Int32Array.from(bytes.subarray(0, n)) }
    default:
      throw new ApiError('unsupported', `Weight ${spec.name} in ${basename(modelPath)} has dtype ${spec.dtype}, which Metascope does not read.`, modelPath)
  }
}

function byteSize(spec: WeightSpec, modelPath: string): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype
  const per = BYTES[dtype]
  if (per === undefined) {
    throw new ApiError('unsupported', `Weight ${spec.name} in ${basename(modelPath)} has dtype ${dtype}, which Metascope does not read.`, modelPath)
  }
  return spec.shape.reduce((p, d) => p * d, 1) * per
}

/**
 * Finds every shard the manifest lists, per group. Missing shards are gathered rather than reported
 * one by one: the error names them all (details.missing, details.field of the first), so the user can
 * give them in one go.
 */
async function locateShards(modelPath: string, json: TfjsModelJson): Promise<{ path: string; size: number }[][]> {
  const dir = dirname(modelPath)
  const located: { path: string; size: number }[][] = []
  const missing: ApiError[] = []
  for (const [g, group] of (json.weightsManifest ?? []).entries()) {
    const files: { path: string; size: number }[] = []
    for (const [i, p] of group.paths.entries()) {
      try {
        files.push(await shardFile(modelPath, dir, p, `weightsManifest[${g}].paths[${i}]`))
      } catch (err) {
        if (!(err instanceof ApiError && err.details?.constraint === 'missing')) throw err
        missing.push(err)
      }
    }
    located.push(files)
  }
  if (missing.length === 1) throw missing[0]
  if (missing.length > 1) {
    const names = missing.flatMap((e) => e.details?.missing as string[])
    const model = basename(modelPath)
    throw new ApiError('not-found', `The weight files ${names.join(', ')} that ${model} lists are missing from ${dir}; copy them next to ${model}.`, missing[0].file, {
      ...missing[0].details,
      missing: names
    })
  }
  return located
}

/**
 * The bytes of each weight group (its shards concatenated), read from the files the manifest lists
 * (paths relative to model.json, whatever model.json is called, with or without an extension).
 * Missing shards, or shards holding more or fewer bytes than the manifest describes, are an error
 * naming the shard files.
 */
async function readWeightGroups(modelPath: string, json: TfjsModelJson): Promise<Buffer[]> {
  const groups: Buffer[] = []
  // Every shard is found and measured before any is read: a manifest naming a device, a folder or a
  // file of another size is refused without reading a byte of it.
  const located = await locateShards(modelPath, json)
  for (const [g, group] of (json.weightsManifest ?? []).entries()) {
    const files = located[g]
    const expected = group.weights.reduce((s, w) => s + byteSize(w, modelPath), 0)
    const found = files.reduce((s, f) => s + f.size, 0)
    if (found !== expected) {
      const sizes = group.paths.map((p, i) => `${p} (${files[i].size} bytes)`).join(', ')
      throw new ApiError(
        'bad-file',
        `The weight file${group.paths.length > 1 ? 's' : ''} ${sizes} hold${group.paths.length > 1 ? '' : 's'} ${found} bytes, but ${basename(modelPath)} describes ${expected} bytes of weights for ${group.paths.length > 1 ? 'them' : 'it'}: the file is truncated or belongs to another model.`,
        files.at(-1)?.path ?? modelPath
      )
    }
    const shards: Buffer[] = []
    for (const f of files) {
      const bytes = await readFile(f.path).catch((err: NodeJS.ErrnoException) => {
        throw fileError(err, f.path, 'weight')
      })
      if (bytes.byteLength !== f.size) throw new ApiError('bad-file', `The weight file ${basename(f.path)} changed while it was read.`, f.path)
      shards.push(bytes)
    }
    groups.push(Buffer.concat(shards))
  }
  return groups
}

/** Reads the weights and decodes them, dequantizing uint8/uint16 (value * scale + min) and float16. */
export async function readTfjsWeights(modelPath: string, json: TfjsModelJson): Promise<Map<string, Weight>> {
  const weights = new Map<string, Weight>()
  const groups = await readWeightGroups(modelPath, json)
  for (const [g, group] of (json.weightsManifest ?? []).entries()) {
    let offset = 0
    for (const spec of group.weights) {
      const size = byteSize(spec, modelPath)
      weights.set(spec.name, decodeOne(spec, groups[g].subarray(offset, offset + size), modelPath))
      offset += size
    }
  }
  return weights
}

/**
 * model.json and its shards as tfjs's own loaders take them (tf.io.ModelArtifacts): the topology,
 * the weight specs and the shards' bytes, read through the same folder rules as the converter's.
 */
export async function readTfjsArtifacts(modelPath: string): Promise<{ kind: 'layers' | 'graph'; artifacts: { modelTopology: unknown; format?: string; weightSpecs: WeightSpec[]; weightData: ArrayBuffer; signature?: unknown; userDefinedMetadata?: Record<string, unknown> } }> {
  const json = await readTfjsJson(modelPath)
  const data = Buffer.concat(await readWeightGroups(modelPath, json))
  return {
    kind: tfjsKind(json),
    artifacts: {
      modelTopology: json.modelTopology,
      format: json.format,
      weightSpecs: (json.weightsManifest ?? []).flatMap((g) => g.weights),
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
      ...(json.signature ? { signature: json.signature } : {}),
      ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {})
    }
  }
}
