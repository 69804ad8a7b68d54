import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import { releaseScratch, scratchDir } from '../scratch-dir'
import { tmpdir } from 'node:os'
import { extname, join, sep } from 'node:path'
import { UPLOAD_EXTENSIONS, UPLOAD_MAX_BYTES } from '../../../shared/client'
import { ApiError } from '../../../shared/errors'
import { tfjsShardPaths } from '../../../shared/tfjs-manifest'

/**
 * Browser-mode uploads: a web page cannot see file paths, so picked or dropped files are copied into a
 * per-server temporary folder first and the engine reads them from there. This file holds the pure
 * path rules and the storage; the HTTP route (src/main/server/http-server.ts) only wires them up.
 */

export const MAX_UPLOAD_BYTES = UPLOAD_MAX_BYTES
const MAX_PATH_CHARS = 1024
const MAX_SEGMENT_BYTES = 255
const ALLOWED = new Set(UPLOAD_EXTENSIONS)
const BATCH_RE = /^[A-Za-z0-9_-]{1,64}$/
export const DEFAULT_BATCH = 'default'

const invalid = (message: string) => new ApiError('invalid-arguments', message)

/**
 * Checks a client-supplied relative path (File.webkitRelativePath or a plain name) and returns its
 * segments, normalised: '\' counts as a separator, empty and '.' segments are dropped. Refuses (with an
 * 'invalid-arguments' ApiError) anything absolute, any '..' segment, NUL or other control characters,
 * over-long names, and extensions outside UPLOAD_EXTENSIONS.
 */
export function sanitizeRelativePath(raw: unknown): string[] {
  const segments = pathSegments(raw)
  if (!ALLOWED.has(extname(segments[segments.length - 1]).toLowerCase())) throw notAllowed(segments[segments.length - 1])
  return segments
}

const notAllowed = (name: string, why = '') =>
  invalid(`${name}: ${why}only images, models (.onnx, or a TensorFlow.js model.json with the weight files it lists), .txt and .npy files can be uploaded (allowed: ${UPLOAD_EXTENSIONS.join(' ')}).`)

/** sanitizeRelativePath without the extension rule. */
function pathSegments(raw: unknown): string[] {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid('The upload has no path.')
  if (raw.length > MAX_PATH_CHARS) throw invalid(`The upload path is longer than ${MAX_PATH_CHARS} characters.`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw invalid('The upload path contains NUL or control characters.')
  const path = raw.replace(/\\/g, '/')
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw invalid(`The upload path must be relative: ${raw}`)
  const segments = path.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.some((s) => s === '..')) throw invalid(`The upload path must not contain '..': ${raw}`)
  if (segments.length === 0) throw invalid(`The upload path names no file: ${raw}`)
  for (const s of segments) {
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) throw invalid(`A name in the upload path is too long: ${s.slice(0, 40)}…`)
  }
  return segments
}

/** An upload batch id (one per uploadFiles call) names a folder: letters, digits, '-' and '_' only. */
export function sanitizeBatch(raw: string | null | undefined): string {
  if (raw === null || raw === undefined || raw === '') return DEFAULT_BATCH
  if (!BATCH_RE.test(raw)) throw invalid('The upload batch id must be 1-64 letters, digits, - or _.')
  return raw
}

/** 'a.png' -> 'a (1).png' (n = 1, 2, …); a leading dot is part of the stem, not the extension. */
export function suffixedName(name: string, n: number): string {
  const ext = extname(name)
  const stem = ext ? name.slice(0, -ext.length) : name
  return `${stem} (${n})${ext}`
}

/**
 * The upload root of one server process: created on the first upload (mkdtemp in the OS temp folder),
 * removed by close(). Each batch gets its own folder, inside which the client's relative folders are
 * kept (so folder names still work as expected labels); a name that clashes within a batch gets a
 * ' (n)' suffix rather than overwriting.
 */
export class UploadStore {
  private rootPromise: Promise<string> | null = null
  private closed = false
  /** The shard paths each uploaded model.json lists (by its stored path), read once per json. */
  private readonly listed = new Map<string, Set<string>>()

  constructor(
    private readonly maxBytes = MAX_UPLOAD_BYTES,
    private readonly parent = tmpdir()
  ) {}

  /** The root folder, once the first upload has created it. */
  async root(): Promise<string> {
    if (this.closed) throw new ApiError('engine-unavailable', 'The server is shutting down.')
    // A scratch folder: removed on exit and signals, swept at the next start after a SIGKILL.
    this.rootPromise ??= Promise.resolve().then(() => scratchDir('uploads', this.parent))
    return this.rootPromise
  }

  /**
   * Streams `body` to <root>/<batch>/<relativePath> and returns the absolute path written. Throws
   * 'invalid-arguments' for a bad path or batch, 'out-of-range' when the body exceeds the size limit
   * (the partial file is removed), and rethrows read errors (an aborted request) after cleaning up.
   * `listedBy`, the relative path of a TensorFlow.js model.json uploaded earlier in the same batch,
   * admits a file of any name that the json's weightsManifest lists (tfjs-converter names shards
   * `group1-shard1of2`, without an extension).
   */
  async save(relativePath: unknown, body: AsyncIterable<Uint8Array>, batch?: string | null, listedBy?: string | null): Promise<string> {
    const batchDir = sanitizeBatch(batch)
    const segments = listedBy ? await this.listedSegments(relativePath, batchDir, listedBy) : sanitizeRelativePath(relativePath)
    const root = await this.root()
    const dir = join(root, batchDir, ...segments.slice(0, -1))
    if (!(dir + sep).startsWith(root + sep)) throw invalid('The upload path leaves the upload folder.')
    try {
      await mkdir(dir, { recursive: true })
    } catch (err) {
      throw invalid(`Cannot create the folder for ${segments.join('/')}: ${(err as Error).message}`)
    }
    const name = segments[segments.length - 1]
    const { path, handle } = await createExclusive(dir, name)
    let size = 0
    try {
      for await (const chunk of body) {
        size += chunk.byteLength
        if (size > this.maxBytes) {
          throw new ApiError('out-of-range', `${name} is larger than the upload limit of ${Math.round(this.maxBytes / (1024 * 1024))} MB.`)
        }
        await handle.write(chunk)
      }
      await handle.close()
      return path
    } catch (err) {
      await handle.close().catch(() => {})
      await unlink(path).catch(() => {})
      throw err
    }
  }

  /** The segments of a file sent as a weight shard of `listedBy`: any name, if that json lists it. */
  private async listedSegments(relativePath: unknown, batch: string, listedBy: string): Promise<string[]> {
    const segments = pathSegments(relativePath)
    const name = segments[segments.length - 1]
    if (ALLOWED.has(extname(name).toLowerCase())) return segments
    const manifest = sanitizeRelativePath(listedBy)
    const json = manifest[manifest.length - 1]
    if (extname(json).toLowerCase() !== '.json') throw notAllowed(name, `${json} is not a TensorFlow.js model.json, so it lists no weight files; `)
    const path = join(await this.root(), batch, ...manifest)
    let paths = this.listed.get(path)
    if (!paths) {
      let parsed: string[] | null = null
      try {
        parsed = tfjsShardPaths(JSON.parse(await readFile(path, 'utf8')))
      } catch {
        // Not uploaded in this batch, or not JSON: it lists nothing.
      }
      if (!parsed) throw notAllowed(name, `${json} was not uploaded before it as a TensorFlow.js model.json in this batch; `)
      paths = new Set(parsed)
      this.listed.set(path, paths)
    }
    // Manifest paths are relative to the json's folder.
    const folder = manifest.slice(0, -1)
    const inFolder = folder.every((s, i) => segments[i] === s)
    if (!inFolder || !paths.has(segments.slice(folder.length).join('/'))) throw notAllowed(name, `${json} does not list it among its weight files, and `)
    return segments
  }

  /** Removes every uploaded file; later uploads are refused. */
  async close(): Promise<void> {
    this.closed = true
    const root = this.rootPromise ? await this.rootPromise.catch(() => null) : null
    if (root) releaseScratch(root)
  }
}

/** Opens dir/name for writing, or dir/'name (n)' when taken: 'wx' makes the claim atomic under concurrency. */
async function createExclusive(dir: string, name: string) {
  for (let n = 0; n < 10_000; n++) {
    const path = join(dir, n === 0 ? name : suffixedName(name, n))
    try {
      return { path, handle: await open(path, 'wx') }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST' || code === 'EISDIR') continue
      throw invalid(`Cannot store ${name}: ${(err as Error).message}`)
    }
  }
  throw invalid(`Too many uploads named ${name} in one batch.`)
}
