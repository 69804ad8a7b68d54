/**
 * The real published classifiers the real-backbone few-shot benchmark runs on (bench/fewshot-real.ts),
 * fetched on demand by `node scripts/fetch-real-models.mjs nsfwjs` (never committed), and what the
 * benchmark needs to know of each: its input size, the tfjs format and the tensors to take features
 * from on the reference side (tfjs `predict` of the truncated model).
 *
 * Preprocessing: nsfwjs 4.3's own `infer` (dist/cjs/core.js) feeds every one of its models
 * `tf.browser.fromPixels(img).toFloat().div(255)`, resized with `tf.image.resizeBilinear(...,
 * alignCorners = true)` when the image is not already at the size (224, or 299 for InceptionV3), and
 * nothing else; none of the model.json files states a normalisation. So pixel / 255 ('unit') is the
 * correct preprocessing for all three; ImageNet mean/std ('imagenet', Metascope's assumption when a
 * model states nothing) is the wrong one the benchmark compares it with. mobilenet_v2_mid (a TF-Hub
 * feature vector) maps [0, 1] to [-1, 1] inside its own graph (hub_input/Mul, hub_input/Sub).
 */
import { homedir } from 'node:os'
import { join } from 'node:path'

export const REAL_DIR = process.env.METASCOPE_REAL_DIR ?? join(homedir(), '.cache', 'metascope', 'real', 'nsfwjs', 'package', 'unpacked')
export const BENCH_DIR = process.env.METASCOPE_BENCH_DIR ?? join(homedir(), '.cache', 'metascope', 'bench')

export interface RealModel {
  name: string
  /** Folder holding model.json and its shards. */
  dir: string
  size: number
  format: 'layers' | 'graph'
  /**
   * Tensors to take features from, by the name both tfjs and Metascope's converted graph give them:
   * Keras layer names (their outputs) for a layers model, node names for a graph model. They are
   * Metascope's candidates (featureCandidates): the backbone's pooled features and the input of each
   * Dense layer after it, which Metascope names by the Dropout that passes it on (dropout_2 holds
   * dense_1's relu output: Keras Dropout is the identity at predict).
   */
  features: string[]
}

const MID = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze'

export const REAL_MODELS: Record<string, RealModel> = {
  // ... out_relu -> AveragePooling2D 7x7 -> Flatten (1280) -> Dense 256 relu -> Dense 128 relu -> Dense 5 softmax
  mobilenet_v2: { name: 'mobilenet_v2', dir: join(REAL_DIR, 'mobilenet_v2'), size: 224, format: 'layers', features: ['flatten_1', 'dropout_2', 'dropout_3'] },
  // A graph model: MobileNetV2 1.4 feature vector (1792, pooled and squeezed) -> one Dense 5 -> softmax
  mobilenet_v2_mid: { name: 'mobilenet_v2_mid', dir: join(REAL_DIR, 'mobilenet_v2_mid'), size: 224, format: 'graph', features: [MID] },
  // ... mixed10 -> AveragePooling2D 8x8 -> Flatten (2048) -> Dense 256 relu -> Dense 128 relu -> Dense 5 softmax (299 px: slow on the pure-JS backend)
  inception_v3: { name: 'inception_v3', dir: join(REAL_DIR, 'inception_v3'), size: 299, format: 'layers', features: ['flatten_1', 'dropout_2', 'dropout_3'] }
}

export const NORMALIZATIONS = ['unit', 'imagenet'] as const
export type BenchNormalization = (typeof NORMALIZATIONS)[number]

/** A feature tensor's name as a file name. */
export function featureFile(tensor: string): string {
  return tensor.replace(/[^A-Za-z0-9_.-]/g, '_')
}

/** Where the reference side writes the features of one model, dataset and normalisation. */
export function featuresDir(model: string, dataset: string, normalization: string): string {
  return join(BENCH_DIR, 'features', model, dataset, normalization)
}
