import type { GraphBuilder } from '../onnx/builder'

/**
 * Mean softmax cross-entropy of logits [B, N] against one-hot labels [B, N] (a float graph input, so
 * no gradient flows into it): -mean_b sum_n y[b, n] * logsoftmax(logits)[b, n]. Written with ops that
 * have VJP rules whose own outputs are differentiable, so MAML can differentiate through it twice.
 */
export function softmaxCrossEntropy(b: GraphBuilder, logits: string, oneHot: string): string {
  const logp = b.op('LogSoftmax', [logits], { axis: 1 })
  const picked = b.op('ReduceSum', [b.op('Mul', [logp, oneHot]), b.constI64([1])], { keepdims: 0 })
  return b.op('Neg', [b.reduce('ReduceMean', picked, [0], 0)])
}
