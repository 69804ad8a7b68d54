import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { onnx } from 'onnx-proto'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { openModelFile } from '../../src/main/engine/formats'
import { graphOf, type ModelProto } from '../../src/main/engine/onnx/model-file'

/**
 * Independent references for the tfjs importer: tfjs's own loaders (which read the shards and
 * dequantize by their own code), its own predict/execute, and Grad-CAM computed with tf.grad.
 */

interface ModelJson {
  modelTopology: tf.io.ModelArtifacts['modelTopology']
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
  format?: string
}

function artifacts(path: string): tf.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(path), p))))
  const data = Buffer.concat(shards)
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
  }
}

export async function tfjsLayersModel(path: string): Promise<tf.LayersModel> {
  await tf.setBackend('cpu')
  return tf.loadLayersModel({ load: async () => artifacts(path) })
}

export async function tfjsGraphModel(path: string): Promise<tf.GraphModel> {
  await tf.setBackend('cpu')
  return tf.loadGraphModel({ load: async () => artifacts(path) })
}

/** Deterministic inputs in [-1, 1] (a seeded LCG): [n, ...shape]. */
export function images(n: number, shape: number[], seed = 7): Float32Array {
  let s = seed >>> 0
  const size = n * shape.reduce((p, d) => p * d, 1)
  return Float32Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s / 4294967296) * 2 - 1
  })
}

/** Runs the converted model on onnxruntime, fetching `fetch` (default: the graph outputs). */
export async function runConverted(path: string, input: Float32Array, dims: number[], fetch?: string[]): Promise<Record<string, Float32Array>> {
  const { model } = await openModelFile(path)
  const g = graphOf(model)
  const extra = (fetch ?? []).filter((f) => !g.output.some((o) => o.name === f))
  const withOutputs = onnx.ModelProto.create({
    ...model,
    graph: { ...g, output: [...g.output, ...extra.map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } }))] }
  })
  const session = await OrtSession.create(onnx.ModelProto.encode(withOutputs).finish(), path)
  try {
    const out = await session.run({ [g.input[0].name ?? '']: floatTensor(input, dims) }, fetch)
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]))
  } finally {
    await session.release()
  }
}

/**
 * Writes the converted model without its final Softmax (the graph output becomes the scores), so
 * the engine's Grad-CAM differentiates the class score whatever it does with a final Softmax.
 */
export async function writeScoresModel(path: string, out: string): Promise<ModelProto> {
  const { model } = await openModelFile(path)
  const g = graphOf(model)
  const last = g.node.find((n) => n.output?.[0] === g.output[0].name)
  if (!last || last.opType !== 'Softmax') throw new Error(`${path}: the converted graph does not end in Softmax`)
  const scores = onnx.ModelProto.create({
    ...model,
    graph: { ...g, node: g.node.filter((n) => n !== last), output: [onnx.ValueInfoProto.create({ name: last.input?.[0] ?? '', type: { tensorType: { elemType: 1 } } })] }
  })
  writeFileSync(out, onnx.ModelProto.encode(scores).finish())
  return scores
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/**
 * Replays a Functional LayersModel layer by layer with `layer.apply` (each layer called once), so a
 * layer's output can be replaced by a variable for tf.grad. Returns the output of `stop`.
 */
export function replay(model: tf.LayersModel, x: tf.Tensor, stop: string, override?: { layer: string; value: tf.Tensor }): tf.Tensor {
  const values = new Map<string, tf.Tensor>()
  for (const layer of model.layers) {
    const inbound = layer.inboundNodes[0].inboundLayers
    let out: tf.Tensor
    if (inbound.length === 0) out = x
    else if (override?.layer === layer.name) out = override.value
    else {
      const ins = inbound.map((l) => values.get(l.name)!)
      out = layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor
    }
    values.set(layer.name, out)
    if (layer.name === stop) return out
  }
  throw new Error(`no layer ${stop}`)
}

/**
 * Grad-CAM from its definition on NHWC activations A and the gradients G of the target scores:
 * ReLU(sum_k mean_hw(G_k) A_k), per image, at layer resolution: [n][h * w].
 */
export function gradcamFromGrads(a: tf.Tensor4D, g: tf.Tensor4D): Float32Array[] {
  const cam = tf.tidy(() => tf.relu(tf.sum(tf.mul(a, tf.mean(g, [1, 2], true)), 3)))
  const [n, h, w] = cam.shape
  const data = cam.dataSync() as Float32Array
  cam.dispose()
  return Array.from({ length: n }, (_, i) => data.slice(i * h * w, (i + 1) * h * w))
}

/** Scores of the chosen classes, summed over the batch (each image's score depends on it alone). */
export function pickScores(scores: tf.Tensor, targets: number[]): tf.Scalar {
  return tf.sum(tf.mul(scores, tf.oneHot(tf.tensor1d(targets, 'int32'), scores.shape[1]!))) as tf.Scalar
}

export function argmaxRows(data: ArrayLike<number>, classes: number): number[] {
  const out: number[] = []
  for (let i = 0; i * classes < data.length; i++) {
    let best = 0
    for (let k = 1; k < classes; k++) if (data[i * classes + k] > data[i * classes + best]) best = k
    out.push(best)
  }
  return out
}
