import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { z } from 'zod'
import { ApiError } from '../../../../../shared/errors'
import { AdapterRecord, AdapterTraining } from '../../../../../shared/fewshot-adapter'
import { seededRandom } from '../../../data/random'
import { writeFileAtomic } from '../../../files/safe-write'

/**
 * A trained feature adapter: a linear map g = f A (A [F, F'], row-major) applied to the frozen
 * features before the new head, written by `fewshot adapter` (meta-train.ts) as one JSON file. The
 * matrix is base64 of little-endian float32 (a 1280 x 1280 adapter is 8.7 MB of text, not 20+ as a
 * number array would be).
 */
export interface Adapter {
  /** The feature tensor it was trained on and its width F. */
  tensor: string
  inWidth: number
  /** F': the width of what the head reads. */
  outWidth: number
  /** [F * F'], row-major: g_j = sum_i f_i A[i, j]. */
  weight: Float32Array
  model: { file: string; sha256: string }
  training: AdapterTraining
}

export const ADAPTER_FORMAT = 'metascope-fewshot-adapter'

const AdapterFile = z
  .object({
    format: z.literal(ADAPTER_FORMAT),
    version: z.literal(1),
    features: z.object({ tensor: z.string().min(1), width: z.number().int().min(1) }),
    width: z.number().int().min(1),
    model: z.object({ file: z.string(), sha256: z.string() }),
    training: AdapterTraining,
    /** base64 of F x F' little-endian float32 values, row-major. */
    weight: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'is not base64')
  })
  .strict()

/** The identity when F' = F; otherwise a seeded Gaussian random projection, N(0, 1/F') per entry (distances kept in expectation). */
export function initialAdapter(inWidth: number, outWidth: number, seed: number): Float32Array {
  const a = new Float32Array(inWidth * outWidth)
  if (inWidth === outWidth) {
    for (let i = 0; i < inWidth; i++) a[i * outWidth + i] = 1
    return a
  }
  const random = seededRandom(seed)
  const sd = 1 / Math.sqrt(outWidth)
  for (let i = 0; i < a.length; i += 2) {
    // Box-Muller: two normals per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - random.float()))
    const t = 2 * Math.PI * random.float()
    a[i] = r * Math.cos(t) * sd
    if (i + 1 < a.length) a[i + 1] = r * Math.sin(t) * sd
  }
  return a
}

/** Each feature row through the adapter, g = f A, summed in float64 (the identity gives back f exactly). */
export function applyAdapter(adapter: Pick<Adapter, 'inWidth' | 'outWidth' | 'weight'>, rows: Float32Array[]): Float32Array[] {
  const { inWidth: f, outWidth: g, weight: a } = adapter
  return rows.map((x) => {
    const acc = new Float64Array(g)
    for (let i = 0; i < f; i++) {
      const v = x[i]
      if (v === 0) continue
      const row = i * g
      for (let j = 0; j < g; j++) acc[j] += v * a[row + j]
    }
    return Float32Array.from(acc)
  })
}

export function adapterJson(a: Adapter): string {
  const bytes = Buffer.from(a.weight.buffer, a.weight.byteOffset, a.weight.byteLength)
  // Float32Array is host-endian; every platform Metascope runs on is little-endian, as the file says it is.
  const file: z.input<typeof AdapterFile> = {
    format: ADAPTER_FORMAT,
    version: 1,
    features: { tensor: a.tensor, width: a.inWidth },
    width: a.outWidth,
    model: a.model,
    training: a.training,
    weight: bytes.toString('base64')
  }
  return JSON.stringify(file) + '\n'
}

export async function writeAdapter(path: string, a: Adapter): Promise<void> {
  await writeFileAtomic(path, adapterJson(a))
}

/** An adapter as adaptation records it (the adapted model's metadata, the report). */
export function adapterRecord(path: string, text: string, a: Adapter): AdapterRecord {
  return {
    file: basename(path),
    sha256: createHash('sha256').update(text).digest('hex'),
    tensor: a.tensor,
    inWidth: a.inWidth,
    outWidth: a.outWidth,
    trainedOn: a.model,
    training: a.training
  }
}

const bad = (path: string, problem: string, constraint: string) =>
  new ApiError('bad-file', `The adapter file ${path} ${problem}`, path, { field: 'adapter', constraint, path })

/** Reads and checks an adapter file: every problem is an ApiError (field `adapter`) naming the file and what is wrong. */
export async function readAdapter(path: string): Promise<{ adapter: Adapter; record: AdapterRecord }> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ApiError('not-found', `The adapter file ${path} does not exist.`, path, { field: 'adapter', constraint: 'not-found', path })
    throw bad(path, `cannot be read: ${err.message}`, 'unreadable')
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw bad(path, `is not JSON (${(err as Error).message}); it should be a file written by \`metascope fewshot adapter\`.`, 'not-json')
  }
  const parsed = AdapterFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue.path.length ? issue.path.join('.') : 'the file'
    const hint = issue.path[0] === 'format' ? ` (expected "${ADAPTER_FORMAT}": a file written by \`metascope fewshot adapter\`)` : ''
    throw bad(path, `is not a valid adapter: ${where}: ${issue.message}${hint}.`, 'schema')
  }
  const f = parsed.data
  const bytes = Buffer.from(f.weight, 'base64')
  const expected = f.features.width * f.width
  if (bytes.length !== expected * 4) {
    throw bad(path, `holds ${bytes.length} bytes of weights; a ${f.features.width} x ${f.width} adapter has ${expected} float32 weights (${expected * 4} bytes).`, 'weight-size')
  }
  const weight = new Float32Array(expected)
  new Uint8Array(weight.buffer).set(bytes)
  if (!weight.every(Number.isFinite)) throw bad(path, 'holds weights that are not finite numbers (NaN or infinity): the meta-training diverged.', 'not-finite')
  const adapter: Adapter = { tensor: f.features.tensor, inWidth: f.features.width, outWidth: f.width, weight, model: f.model, training: f.training }
  return { adapter, record: adapterRecord(path, text, adapter) }
}
