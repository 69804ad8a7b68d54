import type { AdaptResult } from './adapt'
import { featureChoice } from './features'

/** The predictions file: every query image before and after, accuracies, timings. */
export function predictionsJson(r: AdaptResult, outModel: string): Record<string, unknown> {
  return {
    format: 'metascope-fewshot-adapt',
    version: 1,
    model: r.model.path,
    modelSha256: r.modelSha256,
    adaptedModel: outModel,
    head: { node: r.head.node.name, weight: r.head.weight, bias: r.head.bias, features: r.head.features, featureDim: r.head.featureDim, originalClasses: r.head.numClasses },
    features: featureChoice(r.features),
    method: r.method,
    mode: r.mode ?? 'replace',
    ...(r.added ? { addClasses: r.added.report } : {}),
    steps: r.steps,
    innerRate: r.innerRate,
    trainedParameters: r.trainedParameters,
    classes: r.classes,
    supportCounts: r.supportCounts,
    queryCounts: r.queryCounts,
    accuracyBefore: r.accuracyBefore,
    accuracyAfter: r.accuracyAfter,
    supportLoss: r.supportLoss,
    preprocess: r.preprocess,
    ...(r.deep ? { deep: deepReport(r.deep) } : {}),
    ...(r.adapter ? { adapter: r.adapter.record } : {}),
    ms: r.ms,
    embeddings: r.embeddings,
    backend: 'onnxruntime',
    provider: r.provider,
    warnings: r.warnings,
    predictions: r.predictions
  }
}

/** The deep adaptation part of the report: everything but the weights. */
function deepReport(d: NonNullable<AdaptResult['deep']>): Record<string, unknown> {
  const { weights: _w, ...report } = d
  return report
}
