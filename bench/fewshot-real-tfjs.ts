/**
 * Reference features for the real-backbone few-shot benchmark: the original framework's own predict.
 * Loads a model with @tensorflow/tfjs (the repository's pure-JS CPU backend, or with --backend wasm
 * tfjs's WebAssembly backend of the same version, about 20x faster here, installed outside the
 * repository: `npm install --prefix ~/.cache/metascope/tfjs-wasm @tensorflow/tfjs-backend-wasm@4.22.0`;
 * --check N then recomputes N images per dataset and normalisation on the CPU backend and records the
 * largest difference), features cached on disk,
 * truncates it at each feature tensor (tf.model({ inputs, outputs: layer.output }) for a layers model,
 * GraphModel.execute(x, nodeNames) for a graph model) and embeds a pool's pixels
 * (bench/fewshot_real_pool.py's pixels.npy, the exact pixels of the pool's PNG files) preprocessed as
 * nsfwjs's own `infer` does: toFloat().div(255), resizeBilinear(alignCorners) when not at the size
 * (the pools are written at the size, so not here), then ImageNet mean/std on top for 'imagenet'.
 * Nothing of Metascope's engine is used. Writes float32 .npy files [N, F] per tensor under
 * ~/.cache/metascope/bench/features/<model>/<dataset>/<normalization>/, skipping those that exist.
 *
 *   npx tsx bench/fewshot-real-tfjs.ts [--models mobilenet_v2,mobilenet_v2_mid] [--datasets fashion-mnist,gcompris]
 *       [--normalizations unit,imagenet] [--batch 8] [--backend cpu|wasm] [--check 8]
 */
import * as tf from '@tensorflow/tfjs'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BENCH_DIR, featureFile, featuresDir, REAL_MODELS, type RealModel } from './fewshot-real-models'

const { values: v } = parseArgs({
  options: {
    models: { type: 'string', default: 'mobilenet_v2,mobilenet_v2_mid' },
    datasets: { type: 'string', default: 'fashion-mnist,gcompris' },
    normalizations: { type: 'string', default: 'unit,imagenet' },
    batch: { type: 'string', default: '8' },
    backend: { type: 'string', default: 'cpu' },
    check: { type: 'string', default: '0' }
  }
})

/** A C-order .npy array (uint8 or float32): numpy's format, read without any of Metascope's code. */
function readNpy(path: string): { shape: number[]; data: Uint8Array | Float32Array } {
  const b = readFileSync(path)
  const headerLen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8)
  const start = b[6] === 1 ? 10 : 12
  const header = b.subarray(start, start + headerLen).toString('latin1')
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1].split(',').filter((s) => s.trim()).map(Number)
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1]
  const body = b.subarray(start + headerLen)
  if (descr === '|u1') return { shape, data: new Uint8Array(body) }
  if (descr === '<f4') return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) }
  throw new Error(`${path}: dtype ${descr} not handled`)
}

function writeNpy(path: string, data: Float32Array, shape: number[]): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`
  const pad = 64 - ((10 + header.length + 1) % 64)
  header += ' '.repeat(pad % 64) + '\n'
  const head = Buffer.alloc(10)
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head)
  head.writeUInt16LE(header.length, 8)
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]))
}

type Embedder = (x: tf.Tensor4D) => tf.Tensor[]

async function load(m: RealModel): Promise<Embedder> {
  const json = JSON.parse(readFileSync(join(m.dir, 'model.json'), 'utf8'))
  const groups = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
  const bytes = Buffer.concat(groups.flatMap((g) => g.paths).map((p) => readFileSync(join(m.dir, p))))
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  }
  if (m.format === 'graph') {
    const g = await tf.loadGraphModel(tf.io.fromMemory(artifacts))
    return (x) => {
      const out = g.execute(x, m.features)
      return Array.isArray(out) ? out : [out]
    }
  }
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts))
  const truncated = tf.model({ inputs: model.inputs, outputs: m.features.map((name) => model.getLayer(name).output as tf.SymbolicTensor) })
  return (x) => {
    const out = truncated.predict(x)
    return Array.isArray(out) ? out : [out]
  }
}

/** nsfwjs's infer: toFloat().div(255) and, only when the image is not at the size, resizeBilinear with alignCorners. */
function preprocess(pixels: Uint8Array, n: number, h: number, w: number, size: number, normalization: string): tf.Tensor4D {
  return tf.tidy(() => {
    let x = tf.tensor4d(pixels, [n, h, w, 3], 'int32').toFloat().div(255) as tf.Tensor4D
    if (h !== size || w !== size) x = tf.image.resizeBilinear(x, [size, size], true)
    if (normalization === 'imagenet') x = x.sub(tf.tensor1d([0.485, 0.456, 0.406])).div(tf.tensor1d([0.229, 0.224, 0.225]))
    else if (normalization !== 'unit') throw new Error(`normalization ${normalization} not handled`)
    return x
  })
}

const WASM_DIR = process.env.METASCOPE_TFJS_WASM ?? join(homedir(), '.cache', 'metascope', 'tfjs-wasm', 'node_modules', '@tensorflow', 'tfjs-backend-wasm')

/** tfjs's WebAssembly backend from outside the repository; it registers itself with the one tfjs engine (tfjs keeps it global). */
async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') {
    const pkg = JSON.parse(readFileSync(join(WASM_DIR, 'package.json'), 'utf8')) as { version: string }
    if (pkg.version !== tf.version.tfjs) throw new Error(`${WASM_DIR} is version ${pkg.version}, tfjs is ${tf.version.tfjs}: install the same version`)
    const wasm = createRequire(__filename)(join(WASM_DIR, 'dist', 'tf-backend-wasm.node.js')) as { setWasmPaths: (p: string) => void }
    wasm.setWasmPaths(join(WASM_DIR, 'dist') + '/')
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} did not start`)
  await tf.ready()
}

/** The first `n` pool images again on the CPU backend: the largest difference from the cached features, per tensor. */
async function checkOnCpu(m: RealModel, pixelsPath: string, normalization: string, files: string[], n: number, backend: string): Promise<number[]> {
  await useBackend('cpu')
  const embed = await load(m)
  const { shape, data } = readNpy(pixelsPath)
  const [, h, w] = shape
  const x = preprocess(data.subarray(0, n * h * w * 3) as Uint8Array, n, h, w, m.size, normalization)
  const outs = embed(x)
  const diffs = await Promise.all(
    outs.map(async (o, k) => {
      const cpu = (await o.data()) as Float32Array
      const cached = readNpy(files[k]).data as Float32Array
      return cpu.reduce((mx, val, i) => Math.max(mx, Math.abs(val - cached[i])), 0)
    })
  )
  tf.dispose([x, ...outs])
  await useBackend(backend)
  return diffs
}

async function main(): Promise<void> {
  await useBackend(v.backend)
  const batch = Number(v.batch)
  for (const name of v.models.split(',')) {
    const m = REAL_MODELS[name]
    if (!m) throw new Error(`unknown model ${name}; known: ${Object.keys(REAL_MODELS).join(', ')}`)
    if (!existsSync(join(m.dir, 'model.json'))) throw new Error(`${m.dir}/model.json missing: run node scripts/fetch-real-models.mjs nsfwjs`)
    let embed: Embedder | null = null
    for (const dataset of v.datasets.split(',')) {
      const pixelsPath = join(BENCH_DIR, `${dataset}-${m.size}`, 'pixels.npy')
      if (!existsSync(pixelsPath)) throw new Error(`${pixelsPath} missing: run /usr/bin/python3 bench/fewshot_real_pool.py --sizes ${m.size}`)
      for (const normalization of v.normalizations.split(',')) {
        const dir = featuresDir(name, dataset, normalization)
        const files = m.features.map((t) => join(dir, `${featureFile(t)}.npy`))
        if (files.every((f) => existsSync(f))) continue
        // A model's weights live on the backend that loaded them: reload after a CPU check switched.
        if (!embed || tf.getBackend() !== v.backend) embed = await load(m)
        const { shape, data } = readNpy(pixelsPath)
        const [count, h, w] = shape
        const per = h * w * 3
        const rows: Float32Array[][] = m.features.map(() => [])
        const t0 = performance.now()
        for (let s = 0; s < count; s += batch) {
          const n = Math.min(batch, count - s)
          const x = preprocess(data.subarray(s * per, (s + n) * per) as Uint8Array, n, h, w, m.size, normalization)
          const outs = embed(x)
          for (let k = 0; k < outs.length; k++) rows[k].push((await outs[k].data()) as Float32Array)
          tf.dispose([x, ...outs])
          process.stderr.write(`\r${name} ${dataset} ${normalization}: ${s + n}/${count}`)
        }
        const ms = (performance.now() - t0) / count
        process.stderr.write(` (${ms.toFixed(0)} ms/image)\n`)
        mkdirSync(dir, { recursive: true })
        m.features.forEach((t, k) => {
          const flat = new Float32Array(rows[k].reduce((a, r) => a + r.length, 0))
          let o = 0
          for (const r of rows[k]) {
            flat.set(r, o)
            o += r.length
          }
          writeNpy(files[k], flat, [count, flat.length / count])
        })
        const n = Math.min(Number(v.check), count)
        const cpuMaxAbsDiff = n > 0 && v.backend !== 'cpu' ? await checkOnCpu(m, pixelsPath, normalization, files, n, v.backend) : null
        if (cpuMaxAbsDiff) process.stderr.write(`  ${n} images again on the cpu backend: max |difference| ${cpuMaxAbsDiff.map((d) => d.toExponential(1)).join(', ')}\n`)
        writeFileSync(join(dir, 'timing.json'), JSON.stringify({ backend: v.backend, tfjs: tf.version.tfjs, msPerImage: ms, images: count, batch, cpuCheck: cpuMaxAbsDiff && { images: n, tensors: m.features, maxAbsDiff: cpuMaxAbsDiff } }))
        embed = null
      }
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
