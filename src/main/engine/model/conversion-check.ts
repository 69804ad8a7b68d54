import type * as TF from '@tensorflow/tfjs'
import { ApiError } from '../../../shared/errors'
import { isConverted } from '../../../shared/registry/model-formats'
import { loadTfjs } from '../backends'
import { seededRandom } from '../data/random'
import { floatTensor, OrtSession } from '../exec/ort'
import { readTfjsArtifacts } from '../formats/tfjs-files'
import type { LoadedModel } from './loaded-model'

/** What the check found: the largest difference between TensorFlow.js's own output and the converted graph's. */
export interface ConversionCheck {
  /** 'probe': seeded inputs in [0, 1]; 'images': the user's images, preprocessed as for Grad-CAM. */
  source: 'probe' | 'images'
  images: number
  /** Largest |tfjs - converted| over every output value, and the largest |tfjs| (its scale). */
  maxAbsDiff: number
  maxAbs: number
  /** The output compared (the model's own: probabilities when it ends in Softmax). */
  output: string
  /** Which TensorFlow.js ran the original, e.g. "@tensorflow/tfjs-node (tensorflow)" or "@tensorflow/tfjs (cpu, pure JavaScript)". */
  backend: string
  ms: number
}

/** Probe inputs for the check: seeded, so a check is repeatable. */
export function probeInputs(model: LoadedModel, n = 8, seed = 20): Float32Array[] {
  const per = model.inputDims(1).slice(1).reduce((p, d) => p * d, 1)
  const r = seededRandom(seed)
  return Array.from({ length: n }, () => Float32Array.from({ length: per }, () => r.float()))
}

/** The tfjs output tensor holding the class values of `n` inputs (a model may have more outputs). */
function classOutput(tf: typeof TF, out: TF.Tensor | TF.Tensor[] | TF.NamedTensorMap, n: number, classes: number): TF.Tensor {
  const all = out instanceof tf.Tensor ? [out] : Array.isArray(out) ? out : Object.values(out)
  const t = all.find((x) => x.size === n * classes) ?? all[0]
  if (!t) throw new ApiError('internal', 'TensorFlow.js returned no output for the conversion check.')
  return t
}

/**
 * The conversion check of a TensorFlow.js model: the original runs in TensorFlow.js itself (tfjs-node-gpu
 * or tfjs-node when installed, else the pure-JS backend), the converted graph in onnxruntime, on the same
 * inputs, one at a time; the result is the largest difference of their outputs. It says whether the
 * converter can be trusted on this model, with the user's own images when they ask.
 */
export async function checkConversion(
  model: LoadedModel,
  inputs: Float32Array[],
  source: ConversionCheck['source'],
  hooks: { onProgress?: (done: number, total: number) => void; throwIfCancelled?: () => void } = {}
): Promise<ConversionCheck> {
  if (!isConverted(model.summary.format)) {
    throw new ApiError('unsupported', `${model.file} is an ONNX file: there is no conversion to check.`, model.path, { field: 'modelId', constraint: 'not-converted' })
  }
  if (!inputs.length) throw new ApiError('invalid-arguments', 'The conversion check needs at least one image.', undefined, { field: 'imageIds', constraint: 'min' })
  const loaded = await loadTfjs()
  if (!loaded) throw new ApiError('unsupported', 'TensorFlow.js could not be loaded, so the conversion cannot be checked.')
  const { tf } = loaded
  const t0 = performance.now()
  const { kind, artifacts } = await readTfjsArtifacts(model.path)
  const handler = { load: async () => artifacts as unknown as TF.io.ModelArtifacts }
  const original = kind === 'graph' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler)
  const session = await OrtSession.create(model.bytes, model.path)
  let maxAbsDiff = 0
  let maxAbs = 0
  try {
    for (const [i, x] of inputs.entries()) {
      hooks.throwIfCancelled?.()
      const dims = model.inputDims(1)
      const ours = (await session.run({ [model.inputName]: floatTensor(x, dims) }, [model.logitsName]))[model.logitsName].data as Float32Array
      const theirs = tf.tidy(() => {
        const input = tf.tensor(x, dims)
        const out = kind === 'graph' ? (original as TF.GraphModel).execute(input) : (original as TF.LayersModel).predict(input)
        return classOutput(tf, out as TF.Tensor | TF.Tensor[], 1, model.numClasses).dataSync() as Float32Array
      })
      if (theirs.length !== ours.length) {
        throw new ApiError('internal', `TensorFlow.js gave ${theirs.length} output values for ${model.file} and the converted graph ${ours.length}: the outputs do not correspond.`, model.path)
      }
      for (let j = 0; j < ours.length; j++) {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ours[j] - theirs[j]))
        maxAbs = Math.max(maxAbs, Math.abs(theirs[j]))
      }
      hooks.onProgress?.(i + 1, inputs.length)
    }
  } finally {
    await session.release()
    original.dispose()
  }
  const backend = tf.getBackend()
  return {
    source,
    images: inputs.length,
    maxAbsDiff,
    maxAbs,
    output: model.logitsName,
    backend: `${loaded.pkg} (${backend === 'cpu' ? 'cpu, pure JavaScript' : backend})`,
    ms: Math.round(performance.now() - t0)
  }
}
