import type { ModelProto } from '../onnx/model-file'

/**
 * A classifier in the canonical form the few-shot methods work on: image -> body -> `features`
 * [B, F] -> one linear head (Gemm, transB=1, weight [N, F] and bias [N]) -> `logits` [B, N]. The
 * built-in Conv-4 is written this way; an imported model is brought into it by replacing its head.
 */
export interface Net {
  model: ModelProto
  inputName: string
  /** [C, H, W] of one input image (channels-first). */
  inputChw: [number, number, number]
  logitsName: string
  featuresName: string
  featureDim: number
  /** Every trainable weight, in graph order; the head's last. */
  params: string[]
  /** [weight, bias] of the head. */
  headParams: [string, string]
  /** BatchNorm layers whose running statistics the 'running' convention tracks (running-stats.ts). */
  batchNorms?: BatchNormLayer[]
}

/** One BatchNorm layer: the tensor it normalises and the initializers holding its running mean and variance. */
export interface BatchNormLayer {
  input: string
  mean: string
  variance: string
}
