import type { VjpRule } from '../types'
import { clip, erf, exp, gelu, hardSigmoid, hardSwish, leakyRelu, logSoftmax, pRelu, relu, sigmoid, softmax, softplus, tanh } from './activations'
import { conv, convTranspose, gemm, matMul } from './conv'
import { add, div, max, min, mul, neg, pow, reciprocal, sqrt, sub, sum, where } from './elementwise'
import { batchNormalization, instanceNormalization, layerNormalization } from './normalization'
import { averagePool, globalAveragePool, globalMaxPool, maxPool, maxUnpool, reduceMean, reduceSum } from './pooling'
import { resize } from './resize'
import { concat, dropout, expand, gather, gatherElements, pad, passThrough, reshapeBack, scatterElements, slice, split, transpose } from './shape'

/**
 * The table of VJP rules, one per ONNX op (the shape of onnxruntime's gradient builder). An op that
 * is not here is an error naming the op and node, never a silent zero.
 */
export const RULES: Readonly<Record<string, VjpRule>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matMul,
  Relu: relu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Sigmoid: sigmoid,
  Tanh: tanh,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  Exp: exp,
  PRelu: pRelu,
  Softplus: softplus,
  Erf: erf,
  Gelu: gelu,
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Neg: neg,
  Sum: sum,
  Pow: pow,
  Sqrt: sqrt,
  Reciprocal: reciprocal,
  Where: where,
  Max: max,
  Min: min,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  InstanceNormalization: instanceNormalization,
  MaxPool: maxPool,
  MaxUnpool: maxUnpool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
  ReduceMean: reduceMean,
  ReduceSum: reduceSum,
  Identity: passThrough,
  Dropout: dropout,
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Expand: expand,
  Gather: gather,
  GatherElements: gatherElements,
  ScatterElements: scatterElements,
  Resize: resize
}
