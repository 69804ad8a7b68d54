import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileError } from '../errors'

/** One entry of model.json's weightsManifest[].weights. */
export interface WeightSpec {
  name: string
  shape: number[]
  dtype: string
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string }
}

export interface WeightGroup {
  paths: string[]
  weights: WeightSpec[]
}

/** model.json as tfjs writes it (LayersModel and GraphModel share the envelope). */
export interface TfjsModelJson {
  format?: string
  generatedBy?: string
  convertedBy?: string | null
  modelTopology: unknown
  weightsManifest?: WeightGroup[]
  /** GraphModels may carry their signature (inputs/outputs) here. */
  signature?: unknown
  userDefinedMetadata?: Record<string, unknown>
}

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
  if (info.isDirectory()) throw new ApiError('bad-file', `${path} is a folder, not a model file.`, path)
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'model')
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ApiError('bad-file', `${basename(path)} is not valid JSON, so it is not a TensorFlow.js model.json (${(err as Error).message}).`, path)
  }
  if (!json || typeof json !== 'object' || !('modelTopology' in json) || !(json as TfjsModelJson).modelTopology) {
    throw new ApiError('bad-file', `${basename(path)} is not a TensorFlow.js model: it has no modelTopology.`, path)
  }
  return json as TfjsModelJson
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
 * Reads every shard the weightsManifest lists (paths relative to model.json, whatever model.json is
 * called) and decodes the weights, dequantizing uint8/uint16 (value * scale + min) and float16.
 * A missing shard, or shards holding more or fewer bytes than the manifest describes, is an error
 * naming the shard file.
 */
export async function readTfjsWeights(modelPath: string, json: TfjsModelJson): Promise<Map<string, Weight>> {
  const dir = dirname(modelPath)
  const weights = new Map<string, Weight>()
  for (const group of json.weightsManifest ?? []) {
    const shards: Buffer[] = []
    for (const p of group.paths) {
      const file = join(dir, decodeURIComponent(p))
      try {
        shards.push(await readFile(file))
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        if (e.code === 'ENOENT') {
          throw new ApiError('not-found', `The weight file ${p} that ${basename(modelPath)} lists is missing (looked for ${file}); copy it next to ${basename(modelPath)}.`, file)
        }
        throw fileError(e, file, 'weight')
      }
    }
    const data = Buffer.concat(shards)
    const expected = group.weights.reduce((s, w) => s + byteSize(w, modelPath), 0)
    if (data.byteLength !== expected) {
      const sizes = group.paths.map((p, i) => `${p} (${shards[i].byteLength} bytes)`).join(', ')
      throw new ApiError(
        'bad-file',
        `The weight file${group.paths.length > 1 ? 's' : ''} ${sizes} hold${group.paths.length > 1 ? '' : 's'} ${data.byteLength} bytes, but ${basename(modelPath)} describes ${expected} bytes of weights for ${group.paths.length > 1 ? 'them' : 'it'}: the file is truncated or belongs to another model.`,
        join(dir, group.paths.at(-1) ?? '')
      )
    }
    let offset = 0
    for (const spec of group.weights) {
      const size = byteSize(spec, modelPath)
      weights.set(spec.name, decodeOne(spec, data.subarray(offset, offset + size), modelPath))
      offset += size
    }
  }
  return weights
}
