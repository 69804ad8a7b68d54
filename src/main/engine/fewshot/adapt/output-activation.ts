import { onnx } from 'onnx-proto'
import { valueInfo } from '../../onnx/builder'
import { graphOf, type ModelProto } from '../../onnx/model-file'
import { DataType } from '../../onnx/tensor-data'
import type { ScoreActivation } from '../../model/scores'

const OPS: Record<Exclude<ScoreActivation, 'none'>, { op: string; output: string }> = {
  softmax: { op: 'Softmax', output: 'probabilities' },
  logsoftmax: { op: 'LogSoftmax', output: 'log_probabilities' },
  sigmoid: { op: 'Sigmoid', output: 'probabilities' }
}

/**
 * The adapted model ending as the original did: its [batch, N] scores (the output `logits`) through
 * the original's Softmax, LogSoftmax or Sigmoid, so a model with old and new classes keeps the
 * meaning of its output (a sigmoid model stays one probability per class). Softmax over axis 1 of a
 * 2-D tensor means the same in every opset. 'none' returns the model as it is.
 */
export function withOutputActivation(model: ModelProto, activation: ScoreActivation): ModelProto {
  if (activation === 'none') return model
  const g = graphOf(model)
  const scores = g.output[0]
  const taken = new Set([...g.node.flatMap((n) => n.output ?? []), ...g.initializer.map((t) => t.name ?? ''), ...g.input.map((v) => v.name ?? '')])
  const { op, output: base } = OPS[activation]
  let name = base
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`
  const node = onnx.NodeProto.create({
    opType: op,
    name: `__ms_adapt_${op}`,
    input: [scores.name ?? ''],
    output: [name],
    attribute: op === 'Sigmoid' ? [] : [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })]
  })
  const dims = (scores.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)))
  const output = valueInfo(name, DataType.FLOAT, dims)
  return onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...g, node: [...g.node, node], output: [output] }) })
}
