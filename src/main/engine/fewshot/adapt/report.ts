import type { AdaptResult } from './adapt'

/** The predictions file: every query image before and after, accuracies, timings. */
export function predictionsJson(r: AdaptResult, outModel: string): Record<string, unknown> {
  return {
    format: 'metascope-fewshot-adapt',
    version: 1,
    model: r.model.path,
    modelSha256: r.modelSha256,
    adaptedModel: outModel,
    head: { node: r.head.node.name, weight: r.head.weight, bias: r.head.bias, features: r.head.features, featureDim: r.head.featureDim, originalClasses: r.head.numClasses },
    method: r.method,
    steps: r.steps,
    innerRate: r.innerRate,
    trainedParameters: r.trainedParameters,
    classes: r.classes,
    supportCounts: r.supportCounts,
    queryCounts: r.queryCounts,
    accuracyBefore: r.accuracyBefore,
    accuracyAfter: r.accuracyAfter,
    supportLoss: r.supportLoss,
    ms: r.ms,
    embeddings: r.embeddings,
    backend: 'onnxruntime',
    provider: r.provider,
    warnings: r.warnings,
    predictions: r.predictions
  }
}
