import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { FewshotConfig } from '../../src/shared/fewshot'
import { buildConv4 } from '../../src/main/engine/fewshot/conv4'
import { fashionMnistDataset } from '../../src/main/engine/fewshot/data/fashion-mnist'
import { fashionMnist } from '../../src/main/engine/fewshot/data/idx'
import { MetaLearner } from '../../src/main/engine/fewshot/learner'
import { runMetaTraining, type MetaTrainOptions } from '../../src/main/engine/fewshot/meta-train'
import { inferenceNet, RunningStats } from '../../src/main/engine/fewshot/running-stats'
import type { Net } from '../../src/main/engine/fewshot/net'
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { DataType } from '../../src/main/engine/onnx/tensor-data'
import { readParams } from '../../src/main/engine/train/params'
import { seededRandom } from '../../src/main/engine/data/random'

/**
 * BatchNorm's running convention (src/main/engine/fewshot/running-stats.ts): the tracked statistics are
 * PyTorch's (momentum 0.1, unbiased variance) of exactly the batch the training pass normalised, checked
 * against the network's own BatchNorm inputs computed independently; the inference-mode network
 * normalises with them; and a run keeps them through a checkpoint and into the file it writes.
 */

/** A graph output of unstated shape (the runtime infers it). */
const output = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT } } })

function images(n: number, size: number, seed: number): Float32Array {
  const r = seededRandom(seed)
  return Float32Array.from({ length: n * size * size }, () => r.float())
}

/**
 * The net's BatchNorm inputs (training mode) for `x`, read from the model itself. The layers' running
 * outputs are fetched too: with few channels (2 and 8 measured; 64, the Conv-4's width, was right)
 * onnxruntime 1.30's CPU kernel normalised with wrong statistics when they were left unused (a 2-channel
 * case gave sd 0.315 for the true 0.286; PyTorch agreed with the statistics graph, not with that).
 */
async function bnInputs(net: Net, x: Float32Array, batch: number): Promise<Float32Array[]> {
  const g = net.model.graph!
  const names = net.batchNorms!.map((l) => l.input)
  const running = (g.node ?? []).filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.output!.slice(1))
  const model = onnx.ModelProto.create({ ...net.model, graph: onnx.GraphProto.create({ ...g, output: [...names, ...running].map(output) }) })
  const s = await OrtSession.create(onnx.ModelProto.encode(model).finish(), 'bn inputs')
  const [c, h, w] = net.inputChw
  const out = await s.run({ [net.inputName]: floatTensor(x, [batch, c, h, w]) })
  await s.release()
  return names.map((n) => out[n].data as Float32Array)
}

/** Per-channel mean and variance (biased or unbiased) of an NCHW tensor with `channels` channels. */
function channelStats(t: Float32Array, channels: number, batch: number, unbiased: boolean): { mean: number[]; variance: number[] } {
  const hw = t.length / (channels * batch)
  const mean: number[] = []
  const variance: number[] = []
  for (let c = 0; c < channels; c++) {
    let s = 0
    for (let b = 0; b < batch; b++) for (let i = 0; i < hw; i++) s += t[(b * channels + c) * hw + i]
    const m = s / (batch * hw)
    let q = 0
    for (let b = 0; b < batch; b++) for (let i = 0; i < hw; i++) q += (t[(b * channels + c) * hw + i] - m) ** 2
    mean.push(m)
    variance.push(q / (batch * hw - (unbiased ? 1 : 0)))
  }
  return { mean, variance }
}

async function features(net: Net, x: Float32Array, batch: number): Promise<Float32Array> {
  const g = net.model.graph!
  const running = (g.node ?? []).filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.output!.slice(1))
  const model = onnx.ModelProto.create({ ...net.model, graph: onnx.GraphProto.create({ ...g, output: [net.featuresName, ...running].map(output) }) })
  const s = await OrtSession.create(onnx.ModelProto.encode(model).finish(), 'features')
  const [c, h, w] = net.inputChw
  const out = await s.run({ [net.inputName]: floatTensor(x, [batch, c, h, w]) })
  await s.release()
  return out[net.featuresName].data as Float32Array
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)

describe('BatchNorm running statistics', () => {
  const net = buildConv4({ channels: 1, size: 20, ways: 3, hidden: 8, seed: 5 })
  const body = net.params.filter((p) => !net.headParams.includes(p))
  const params = readParams(net.model, body)

  it('updates as PyTorch does: 0.9 running + 0.1 batch, the variance unbiased, at every layer', async () => {
    const stats = new RunningStats(net, body)
    const [x1, x2] = [images(6, 20, 1), images(4, 20, 2)]
    await stats.update(params, x1, 6)
    await stats.update(params, x2, 4)
    const [in1, in2] = [await bnInputs(net, x1, 6), await bnInputs(net, x2, 4)]
    net.batchNorms!.forEach((l, i) => {
      const [a, b] = [channelStats(in1[i], 8, 6, true), channelStats(in2[i], 8, 4, true)]
      const mean = a.mean.map((m, c) => 0.9 * (0.9 * 0 + 0.1 * m) + 0.1 * b.mean[c])
      const variance = a.variance.map((v, c) => 0.9 * (0.9 * 1 + 0.1 * v) + 0.1 * b.variance[c])
      expect(maxDiff(stats.values.get(l.mean)!.data, mean)).toBeLessThan(1e-5)
      expect(maxDiff(stats.values.get(l.variance)!.data, variance)).toBeLessThan(1e-4)
    })
    expect(stats.version).toBe(2)
    await stats.release()
  })

  it('in inference mode on a batch\'s own (biased) statistics, normalises exactly as training mode does on that batch', async () => {
    const x = images(5, 20, 3)
    const inputs = await bnInputs(net, x, 5)
    const exact = new Map(
      net.batchNorms!.flatMap((l, i) => {
        const s = channelStats(inputs[i], 8, 5, false)
        return [
          [l.mean, { dims: [8], data: Float32Array.from(s.mean) }],
          [l.variance, { dims: [8], data: Float32Array.from(s.variance) }]
        ] as [string, { dims: number[]; data: Float32Array }][]
      })
    )
    const inference = inferenceNet(net, exact)
    expect((inference.model.graph!.node ?? []).filter((n) => n.opType === 'BatchNormalization').every((n) => n.output!.length === 1)).toBe(true)
    const [train, infer] = [await features(net, x, 5), await features(inference, x, 5)]
    expect(maxDiff(train, infer)).toBeLessThan(1e-4)
    // And one image alone gives the same features as in its batch (not so in training mode).
    const first = x.subarray(0, 400)
    expect(maxDiff(await features(inference, first, 1), infer.subarray(0, infer.length / 5))).toBeLessThan(1e-5)
    expect(maxDiff(await features(net, first, 1), train.subarray(0, train.length / 5))).toBeGreaterThan(1e-2)
  })

  it('refuses the running convention for a method with an inner loop, naming the field', () => {
    const config = FewshotConfig.parse({ method: 'maml', batchNorm: 'running' })
    let err: unknown
    try {
      new MetaLearner({ net, config })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).details).toMatchObject({ field: 'batchNorm', constraint: 'inner-loop', method: 'maml' })
  })
})

const missing = fashionMnist().reason

describe.skipIf(!!missing)(`running statistics through a meta-training run${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const options = async (dir: string, over: Partial<MetaTrainOptions> = {}): Promise<MetaTrainOptions> => ({
    dataset: await fashionMnistDataset(),
    trainClasses: [0, 1, 2, 3, 4],
    testClasses: [5, 6, 7, 8, 9],
    config: FewshotConfig.parse({ method: 'protonet', ways: 3, shots: 2, queries: 3, metaBatch: 2, metaRate: 0.003, seed: 4 }),
    iterations: 6,
    checkpointPath: join(dir, 'run.ckpt.json'),
    checkpointEvery: 3,
    threads: 2,
    ...over
  })

  it('ProtoNet defaults to running statistics, keeps them in the checkpoint, resumes to the same ones, and writes an inference-mode model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-running-'))
    const straight = await runMetaTraining(await options(dir, { modelOut: join(dir, 'proto.onnx'), evalEpisodes: 5 }))
    const cp = JSON.parse(await readFile(straight.checkpoint, 'utf8'))
    expect(cp.config.batchNorm).toBe('running')
    const means = Object.keys(cp.stats).filter((k) => k.endsWith('running_mean'))
    expect(means).toHaveLength(4)
    // Six iterations of two episodes moved the statistics away from their start (0 and 1).
    const first = Buffer.from(cp.stats['block1.bn.running_mean'].data, 'base64')
    expect(new Float32Array(first.buffer, first.byteOffset, first.byteLength / 4).some((v) => Math.abs(v) > 1e-3)).toBe(true)

    // Three iterations, then a resume to six: the same statistics as the straight run.
    const half = await options(dir, { iterations: 3, checkpointPath: join(dir, 'half.json') })
    await runMetaTraining(half)
    await runMetaTraining({ ...half, iterations: 6, resume: true })
    const resumed = JSON.parse(await readFile(join(dir, 'half.json'), 'utf8'))
    expect(resumed.stats).toEqual(cp.stats)

    // The written model normalises with the statistics: no training-mode BatchNorm is left.
    const model = onnx.ModelProto.decode(await readFile(straight.model!))
    const bns = (model.graph!.node ?? []).filter((n) => n.opType === 'BatchNormalization')
    expect(bns).toHaveLength(4)
    expect(bns.every((n) => !(n.attribute ?? []).some((a) => a.name === 'training_mode' && Number(a.i) === 1))).toBe(true)
    expect(JSON.parse(model.metadataProps.find((p) => p.key === 'metascope.fewshot')!.value!).batchNorm).toBe('running')
  })

  it('refuses to resume a checkpoint saved under the other convention, saying which', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-running-'))
    const o = await options(dir, { iterations: 2 })
    await runMetaTraining(o)
    // A checkpoint from before the choice existed names no convention: it was batch statistics.
    const cp = JSON.parse(await readFile(o.checkpointPath, 'utf8'))
    delete cp.config.batchNorm
    delete cp.stats
    await writeFile(o.checkpointPath, JSON.stringify(cp))
    await expect(runMetaTraining({ ...o, iterations: 4, resume: true })).rejects.toThrow(/batchNorm is batch in the checkpoint but running here/)
    // Asked for batch statistics explicitly, it resumes.
    const batch = FewshotConfig.parse({ ...o.config, batchNorm: 'batch' })
    const r = await runMetaTraining({ ...o, config: batch, iterations: 4, resume: true })
    expect(r.resumedFrom).toBe(2)
  })
})
