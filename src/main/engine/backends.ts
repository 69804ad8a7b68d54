import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { BackendInfo } from '../../shared/api'

// createRequire keeps optional packages out of the bundler's static graph: they may be absent.
const requireOptional = createRequire(__filename)

/** Reads a package's version without loading it; works for packages whose `exports` hide package.json. */
function packageVersion(name: string): string | null {
  let dir: string
  try {
    dir = dirname(requireOptional.resolve(name))
  } catch {
    return null
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (!existsSync(file)) continue
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
    if (pkg.name === name) return pkg.version ?? null
  }
  return null
}

/** Preference order when the binaries are present; CPU is always last and always there. */
const PROVIDER_PREFERENCE = ['cuda', 'tensorrt', 'dml', 'coreml', 'cpu']

export function onnxruntimeInfo(): BackendInfo['onnxruntime'] {
  const ort = requireOptional('onnxruntime-node') as typeof import('onnxruntime-node')
  const listed = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }]
  // A provider counts as available only when its binaries shipped with this install ("bundled");
  // CUDA binaries arrive only with `npm run gpu:onnxruntime`.
  const available = listed.filter((b) => b.bundled).map((b) => b.name)
  const wanted = (process.env.METASCOPE_PROVIDERS ?? '').split(',').filter(Boolean)
  const inUse = (wanted.length ? wanted : PROVIDER_PREFERENCE).filter(
    (p) => available.includes(p) && p !== 'webgpu'
  )
  if (!inUse.includes('cpu')) inUse.push('cpu')
  const missingGpu = listed.filter((b) => !b.bundled).map((b) => b.name)
  return {
    version: packageVersion('onnxruntime-node') ?? 'unknown',
    available,
    inUse,
    ...(missingGpu.length
      ? { note: `not installed: ${missingGpu.join(', ')} (\`npm run gpu:onnxruntime\` installs them, for CUDA 12)` }
      : {})
  }
}

let tfjsCache: BackendInfo['tfjs'] | null = null
/** The module tfjsInfo settled on, for the tfjs executor (exec/tfjs-backend.ts). */
let tfjsModule: { tf: typeof import('@tensorflow/tfjs'); pkg: string } | null = null

/**
 * Picks the best tfjs backend present: tfjs-node-gpu, then tfjs-node, then the pure-JS cpu backend.
 * Each step that fails records why, so the UI can say exactly what is missing.
 */
export async function tfjsInfo(): Promise<BackendInfo['tfjs']> {
  if (tfjsCache) return tfjsCache
  const reasons: string[] = []
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (packageVersion(pkg) === null) {
      reasons.push(`${pkg.replace('@tensorflow/', '')} not installed`)
      continue
    }
    try {
      const tf = requireOptional(pkg) as typeof import('@tensorflow/tfjs')
      await tf.ready()
      tfjsCache = { version: tf.version_core, backend: tf.getBackend(), reason: `${pkg} loaded` }
      tfjsModule = { tf, pkg }
      return tfjsCache
    } catch (err) {
      reasons.push(`${pkg.replace('@tensorflow/', '')} failed to load: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  try {
    const tf = requireOptional('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs')
    await tf.setBackend('cpu')
    await tf.ready()
    reasons.push('using the pure-JS cpu backend (small models only)')
    tfjsCache = { version: tf.version_core, backend: tf.getBackend(), reason: reasons.join('; ') }
    tfjsModule = { tf, pkg: '@tensorflow/tfjs' }
  } catch (err) {
    reasons.push(`@tensorflow/tfjs failed to load: ${(err as Error).message}`)
    tfjsCache = { version: null, backend: null, reason: reasons.join('; ') }
  }
  return tfjsCache
}

/** The tfjs module tfjsInfo picked (null when none loads), with that choice's info. */
export async function loadTfjs(): Promise<{ tf: typeof import('@tensorflow/tfjs'); pkg: string; info: BackendInfo['tfjs'] } | null> {
  const info = await tfjsInfo()
  return tfjsModule ? { ...tfjsModule, info } : null
}

/**
 * What runs where. TensorFlow.js computes nothing of the app's jobs (onnxruntime does); it is loaded
 * only when a converted TensorFlow.js model is checked against it, so app.info does not load it:
 * before that first check it reports the installed version and that it is not loaded.
 */
export async function backendInfo(): Promise<BackendInfo> {
  const tfjs = tfjsCache ?? { version: packageVersion('@tensorflow/tfjs'), backend: null, reason: 'tfjs not loaded: it runs only to check converted TensorFlow.js models' }
  return { onnxruntime: onnxruntimeInfo(), tfjs }
}

export function libraryVersions(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of ['onnxruntime-node', '@tensorflow/tfjs', 'sharp', 'onnx-proto', 'zod']) {
    const v = packageVersion(name)
    if (v) out[name] = v
  }
  return out
}
