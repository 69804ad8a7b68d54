import { onnx } from 'onnx-proto'
import { floatTensor, OrtSession, type Feeds } from '../exec/ort'
import { emptyBuilderFor, instantiate, liftInitializers } from '../onnx/graph-edit'
import { GraphIndex } from '../onnx/ir'
import { graphOf } from '../onnx/model-file'
import { DataType, encodeTensor, f32 } from '../onnx/tensor-data'
import { readParams, type ParamStore } from '../train/params'
import type { Net } from './net'

/**
 * BatchNorm's "running" convention (docs/fewshot.md): training normalises with each batch's own
 * statistics and keeps exponential averages of them; testing normalises with the averages (inference
 * mode), so a test image's output no longer depends on the other images of its batch. The averages
 * follow PyTorch's nn.BatchNorm2d exactly: momentum 0.1, the unbiased batch variance, one update per
 * forward pass in training. The training graphs are unchanged: the statistics of the batch a training
 * graph normalises are computed by a small graph of their own, run beside it with the same weights.
 */

/** PyTorch's default: running = (1 - m) running + m batch. */
export const RUNNING_MOMENTUM = 0.1

const IMAGES = 'images'

export class RunningStats {
  /** The running mean and variance of every BatchNorm layer, by the net's initializer names. */
  readonly values: ParamStore
  /** Counts updates, so a graph built with older values knows it is stale. */
  version = 0
  private session: OrtSession | null = null

  constructor(
    readonly net: Net,
    /** The weights the statistics graph reads (the body's trainable parameters). */
    private readonly weights: string[],
    private readonly threads?: number
  ) {
    const layers = net.batchNorms ?? []
    this.values = readParams(net.model, layers.flatMap((l) => [l.mean, l.variance]))
  }

  /** One training forward pass's update: the statistics of `images` ([batch, C, H, W]) under `params`. */
  async update(params: ParamStore, images: Float32Array, batch: number): Promise<void> {
    const layers = this.net.batchNorms ?? []
    if (!layers.length) return
    this.session ??= await OrtSession.create(statsGraph(this.net, this.weights), 'batch statistics graph', this.threads ? { intraOpThreads: this.threads } : {})
    const [c, h, w] = this.net.inputChw
    const feeds: Feeds = { [IMAGES]: floatTensor(images, [batch, c, h, w]) }
    for (const p of this.weights) feeds[p] = floatTensor(params.get(p)!.data, params.get(p)!.dims)
    const out = await this.session.run(feeds)
    layers.forEach((l, i) => {
      const mean = out[`mean${i}`].data as Float32Array
      const variance = out[`var${i}`].data as Float32Array
      // Elements per channel (batch x H x W), for the unbiased variance PyTorch keeps.
      const n = Number((out[`size${i}`].data as BigInt64Array)[0]) / mean.length
      const rm = this.values.get(l.mean)!.data
      const rv = this.values.get(l.variance)!.data
      for (let j = 0; j < mean.length; j++) {
        rm[j] = (1 - RUNNING_MOMENTUM) * rm[j] + RUNNING_MOMENTUM * mean[j]
        rv[j] = (1 - RUNNING_MOMENTUM) * rv[j] + (RUNNING_MOMENTUM * variance[j] * n) / Math.max(1, n - 1)
      }
    })
    this.version++
  }

  async release(): Promise<void> {
    await this.session?.release()
    this.session = null
  }
}

/** images + weights -> per BatchNorm layer: the batch mean and (biased) variance of its input per channel, and its element count. */
function statsGraph(net: Net, weights: string[]): Uint8Array {
  const layers = net.batchNorms ?? []
  const lifted = liftInitializers(net.model, weights)
  const source = new GraphIndex(lifted.model)
  const b = emptyBuilderFor(lifted.model, 15)
  const [c, h, w] = net.inputChw
  b.addInput(IMAGES, DataType.FLOAT, ['batch', c, h, w])
  for (const p of weights) b.addInput(p, DataType.FLOAT, lifted.values.get(p)!.dims)
  const bind = new Map<string, string>([[net.inputName, IMAGES], ...weights.map((p) => [p, p] as [string, string])])
  const x = instantiate(b, source, { bind, outputs: layers.map((l) => l.input), prefix: 's/' })
  const outputs: string[] = []
  const types: number[] = []
  layers.forEach((l, i) => {
    const t = x.get(l.input)!
    const axes = [0, 2, 3]
    const centred = b.op('Sub', [t, b.op('ReduceMean', [t], { axes, keepdims: 1 })])
    b.node('ReduceMean', [t], { axes, keepdims: 0 }, [`mean${i}`])
    b.node('ReduceMean', [b.op('Mul', [centred, centred])], { axes, keepdims: 0 }, [`var${i}`])
    b.node('Size', [t], {}, [`size${i}`])
    outputs.push(`mean${i}`, `var${i}`, `size${i}`)
    types.push(DataType.FLOAT, DataType.FLOAT, DataType.INT64)
  })
  b.setOutputs(outputs, types)
  return b.encode()
}

/**
 * The net with its BatchNorm layers in inference mode, normalising with `stats` (written in as the
 * layers' running statistics): the test-time network of the running convention, and the file a
 * meta-trained model is saved as, so it classifies one image the same whatever else is in the batch.
 */
export function inferenceNet(net: Net, stats: ParamStore): Net {
  const g = graphOf(net.model)
  const node = g.node.map((n) =>
    n.opType === 'BatchNormalization'
      ? onnx.NodeProto.create({ ...n, attribute: (n.attribute ?? []).filter((a) => a.name !== 'training_mode'), output: [n.output![0]] })
      : n
  )
  const initializer = g.initializer.map((t) => {
    const v = stats.get(t.name ?? '')
    return v ? encodeTensor(t.name!, f32(Float32Array.from(v.data), v.dims)) : t
  })
  return { ...net, model: onnx.ModelProto.create({ ...net.model, graph: onnx.GraphProto.create({ ...g, node, initializer }) }) }
}
