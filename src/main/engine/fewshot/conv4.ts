import { onnx } from 'onnx-proto'
import { GraphBuilder, valueInfo } from '../onnx/builder'
import { DataType, f32, type ConstTensor } from '../onnx/tensor-data'
import type { BatchNormLayer, Net } from './net'
import { seededRandom } from '../data/random'

export interface Conv4Options {
  channels: number
  size: number
  ways: number
  hidden?: number
  seed?: number
}


export const CONV4_INPUT = 'image'
export const CONV4_LOGITS = 'logits'
export const CONV4_FEATURES = 'features'

/** Spatial size after four 2x2 floor max-pools. */
const pooled = (s: number) => [1, 2, 3, 4].reduce((v) => Math.floor(v / 2), s)

function uniform(n: number, bound: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * bound)
}

/**
 * The Conv-4 of the MAML paper as an ONNX model the engine writes itself (docs/fewshot.md):
 * 4 x [3x3 conv 64 + bias, BatchNormalization in training mode (batch statistics), Relu, 2x2 max-pool], Flatten,
 * a linear head. Weights use PyTorch's default initialisation from a seeded generator, so a run is
 * reproducible and the PyTorch reference can start from the same values.
 */
export function buildConv4(opts: Conv4Options): Net {
  const hidden = opts.hidden ?? 64
  const random = seededRandom(opts.seed ?? 0)
  const rand = () => random.float()
  const empty = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'metascope',
    opsetImport: [{ domain: '', version: 15 }],
    graph: { name: 'conv4', node: [], initializer: [], input: [], output: [] }
  })
  const b = new GraphBuilder(empty, '__conv4')
  b.addInput(CONV4_INPUT, DataType.FLOAT, ['batch', opts.channels, opts.size, opts.size])
  const params: string[] = []
  const batchNorms: BatchNormLayer[] = []
  const weight = (name: string, value: ConstTensor) => {
    params.push(name)
    return b.namedConstant(name, value)
  }
  let x = CONV4_INPUT
  let cin = opts.channels
  for (let i = 1; i <= 4; i++) {
    const fanIn = cin * 9
    const bound = 1 / Math.sqrt(fanIn)
    const w = weight(`block${i}.conv.weight`, f32(uniform(hidden * fanIn, bound, rand), [hidden, cin, 3, 3]))
    const bias = weight(`block${i}.conv.bias`, f32(uniform(hidden, bound, rand), [hidden]))
    const conv = b.node('Conv', [x, w, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, [`block${i}/conv`])[0]
    const scale = weight(`block${i}.bn.weight`, f32(new Float32Array(hidden).fill(1), [hidden]))
    const shift = weight(`block${i}.bn.bias`, f32(new Float32Array(hidden), [hidden]))
    // Running statistics are inputs of the op, unused in training mode; the 'running' convention tracks
    // them beside the training graphs (running-stats.ts) and tests with them in inference mode.
    const mean = b.namedConstant(`block${i}.bn.running_mean`, f32(new Float32Array(hidden), [hidden]))
    const variance = b.namedConstant(`block${i}.bn.running_var`, f32(new Float32Array(hidden).fill(1), [hidden]))
    // Opset 15 wants the running-statistics outputs declared in training mode; nothing reads them.
    const bnOut = [`block${i}/bn`, `block${i}/bn_running_mean`, `block${i}/bn_running_var`]
    batchNorms.push({ input: conv, mean, variance })
    const bn = b.node('BatchNormalization', [conv, scale, shift, mean, variance], { epsilon: { __float: 1e-5 }, training_mode: 1 }, bnOut)[0]
    const relu = b.node('Relu', [bn], {}, [`block${i}/relu`])[0]
    x = b.node('MaxPool', [relu], { kernel_shape: [2, 2], strides: [2, 2] }, [`block${i}/pool`])[0]
    cin = hidden
  }
  const s = pooled(opts.size)
  const featureDim = hidden * s * s
  if (featureDim === 0) throw new Error(`Conv-4 needs images of at least 16 x 16 pixels (got ${opts.size})`)
  b.node('Flatten', [x], { axis: 1 }, [CONV4_FEATURES])
  const hb = 1 / Math.sqrt(featureDim)
  const hw = weight('head.weight', f32(uniform(opts.ways * featureDim, hb, rand), [opts.ways, featureDim]))
  const hbias = weight('head.bias', f32(uniform(opts.ways, hb, rand), [opts.ways]))
  b.node('Gemm', [CONV4_FEATURES, hw, hbias], { transB: 1 }, [CONV4_LOGITS])
  b.setOutputs([CONV4_LOGITS])
  const model = b.build()
  graphOutputShape(model, opts.ways)
  return {
    model,
    inputName: CONV4_INPUT,
    inputChw: [opts.channels, opts.size, opts.size],
    logitsName: CONV4_LOGITS,
    featuresName: CONV4_FEATURES,
    featureDim,
    params,
    headParams: ['head.weight', 'head.bias'],
    batchNorms
  }
}

/** Declares the logits output as [batch, ways] so the file reads like an exported classifier. */
function graphOutputShape(model: onnx.ModelProto, ways: number): void {
  const g = model.graph!
  g.output = [valueInfo(CONV4_LOGITS, DataType.FLOAT, ['batch', ways])]
}
