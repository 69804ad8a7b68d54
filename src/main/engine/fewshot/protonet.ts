import { buildBackward } from '../autodiff/walker'
import { floatTensor } from '../exec/ort'
import { probeAll } from '../exec/probe'
import { inferElemTypes } from '../onnx/elem-types'
import { emptyBuilderFor, instantiate, liftInitializers } from '../onnx/graph-edit'
import { GraphIndex } from '../onnx/ir'
import { DataType } from '../onnx/tensor-data'
import { softmaxCrossEntropy } from '../train/loss'
import type { EpisodeGraph, EpisodeGraphSpec } from './episode-graph'
import { QUERY, QUERY_LABELS, SUPPORT, SUPPORT_LABELS } from './unroll'

/**
 * Prototypical Networks (Snell et al. 2017) as one graph: embed support and query with the body,
 * prototypes c_n = mean support embedding of class n (a MatMul with the one-hot labels), logits =
 * -|f(x_q) - c_n|^2 expanded as -(|q|^2 - 2 q.c + |c|^2), cross-entropy on the query set, and (when
 * training) the gradient of that loss with respect to the body. With `jointBatch` the training graph
 * embeds support and query as one batch (BatchNorm then normalises them together, as in the authors' code).
 */
export async function buildProtoNet(spec: EpisodeGraphSpec): Promise<EpisodeGraph> {
  const { net } = spec
  const lifted = liftInitializers(net.model, spec.metaParams)
  const source = new GraphIndex(lifted.model)
  const b = emptyBuilderFor(lifted.model, 15)
  const [c, h, w] = net.inputChw
  b.addInput(SUPPORT, DataType.FLOAT, [spec.supportBatch, c, h, w])
  b.addInput(SUPPORT_LABELS, DataType.FLOAT, [spec.supportBatch, spec.ways])
  b.addInput(QUERY, DataType.FLOAT, [spec.queryBatch, c, h, w])
  b.addInput(QUERY_LABELS, DataType.FLOAT, [spec.queryBatch, spec.ways])
  for (const p of spec.metaParams) b.addInput(p, DataType.FLOAT, lifted.values.get(p)!.dims)
  const embed = (image: string, prefix: string) => {
    const bind = new Map(spec.metaParams.map((p) => [p, p] as [string, string]))
    bind.set(net.inputName, image)
    return instantiate(b, source, { bind, outputs: [net.featuresName], prefix }).get(net.featuresName)!
  }
  const [fs, fq] =
    spec.jointBatch && spec.order !== 'none'
      ? b.node('Split', [embed(b.op('Concat', [SUPPORT, QUERY], { axis: 0 }), 'sq/'), b.constI64([spec.supportBatch, spec.queryBatch])], { axis: 0 }, 2)
      : [embed(SUPPORT, 's/'), embed(QUERY, 'q/')]
  const shots = spec.supportBatch / spec.ways
  const protos = b.op('Div', [b.op('MatMul', [b.op('Transpose', [SUPPORT_LABELS], { perm: [1, 0] }), fs]), b.constF32([shots], [])])
  const sq = (t: string, keep: number) => b.op('ReduceSum', [b.op('Mul', [t, t]), b.constI64([1])], { keepdims: keep })
  const cross = b.op('MatMul', [fq, b.op('Transpose', [protos], { perm: [1, 0] })])
  const dist = b.op('Add', [b.op('Sub', [sq(fq, 1), b.op('Mul', [cross, b.constF32([2], [])])]), sq(protos, 0)])
  const logits = b.op('Neg', [dist])
  const loss = softmaxCrossEntropy(b, logits, QUERY_LABELS)
  let grads: string[] = []
  if (spec.order !== 'none') {
    const index = new GraphIndex(b.build())
    const feeds = Object.fromEntries([
      [SUPPORT, floatTensor(new Float32Array(spec.supportBatch * c * h * w).fill(0.5), [spec.supportBatch, c, h, w])],
      [SUPPORT_LABELS, floatTensor(new Float32Array(spec.supportBatch * spec.ways), [spec.supportBatch, spec.ways])],
      [QUERY, floatTensor(new Float32Array(spec.queryBatch * c * h * w).fill(0.5), [spec.queryBatch, c, h, w])],
      [QUERY_LABELS, floatTensor(new Float32Array(spec.queryBatch * spec.ways), [spec.queryBatch, spec.ways])],
      ...spec.metaParams.map((p) => [p, floatTensor(Float32Array.from(lifted.values.get(p)!.data as Float32Array), lifted.values.get(p)!.dims)])
    ])
    const shapes = await probeAll(index, feeds, 'prototypical network')
    const g = buildBackward({ index, builder: b, shapes, types: inferElemTypes(index), wrt: spec.metaParams, seeds: new Map([[loss, b.constF32([1], [])]]) })
    grads = spec.metaParams.map((p) => g.get(p)!)
  }
  b.setOutputs([loss, logits, ...grads])
  return { bytes: b.encode(), metaParams: spec.metaParams, rateInputs: [], queryLoss: loss, queryLogits: logits, supportLosses: [], grads, rateGrads: [], adapted: new Map() }
}
