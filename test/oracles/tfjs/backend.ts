import type * as TF from '@tensorflow/tfjs'
import { ApiError } from '../../../src/shared/errors'
import { loadTfjs, tfjsInfo } from '../../../src/main/engine/backends'

export type Tf = typeof TF
export type Tensor = TF.Tensor

/** The tfjs module the engine computes with, and what it is. */
export interface TfjsBackend {
  tf: Tf
  /** The package that loaded: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node or @tensorflow/tfjs. */
  pkg: string
  /** tfjs's backend name: 'tensorflow' for the native bindings, 'cpu' for the pure-JS kernels. */
  backend: string
  /** Pure-JS kernels: correct but ~100x slower than native, so only small models run on them. */
  pureJs: boolean
  /** Why this backend (what failed to load before it), as app.info reports it. */
  reason: string
}

/**
 * Limits for the pure-JS cpu backend. Whole networks run there at ~0.06 counted GFLOP/s (measured on the
 * development machine: the gradient of test/fixtures/models/mini_vgg_bn.onnx at batch 2, 224x224, counts
 * 1.04 GFLOPs and took 16.9 s; pads, transposes and pools cost as much as the convolutions), so a
 * ResNet-50 forward pass (~8 GFLOPs) would take minutes and look like a hang. Native backends have no limit.
 */
export const PURE_JS_LIMITS = {
  /** 2 x multiply-adds of the convolutions and matrix products of one run, backward counted as 2x forward (~25 s). */
  flops: 1.5e9,
  /** Float weights. */
  params: 10e6
}

/** Loads the best tfjs backend present (tfjs-node-gpu, tfjs-node, pure-JS cpu), as backends.ts picks it. */
export async function tfjsBackend(): Promise<TfjsBackend> {
  const loaded = await loadTfjs()
  if (!loaded) throw new ApiError('engine-unavailable', `No tfjs backend could be loaded: ${(await tfjsInfo()).reason}`)
  const backend = loaded.tf.getBackend()
  return { tf: loaded.tf, pkg: loaded.pkg, backend, pureJs: backend === 'cpu', reason: loaded.info.reason }
}
