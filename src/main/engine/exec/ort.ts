import * as ort from 'onnxruntime-node'
import { ApiError } from '../../../shared/errors'
import { onnxruntimeInfo } from '../backends'

export type Feeds = Record<string, ort.Tensor>
export type Fetched = Record<string, ort.Tensor>

export interface SessionOptions {
  /** Threads for one operator; defaults to ORT's choice (all cores). */
  intraOpThreads?: number
}

/**
 * One onnxruntime session over an in-memory model, created with the best execution provider
 * present (CUDA when installed, else CPU) and reporting which one it got.
 */
export class OrtSession {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly provider: string
  ) {}

  static async create(bytes: Uint8Array, label: string, opts: SessionOptions = {}): Promise<OrtSession> {
    const providers = onnxruntimeInfo().inUse
    let lastError: unknown
    // Try the preferred provider first; a GPU provider that fails to initialise falls back to CPU.
    for (let i = 0; i < providers.length; i++) {
      const eps = providers.slice(i)
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: eps,
          graphOptimizationLevel: 'all',
          // The engine holds several sessions (forward, CAM, probe); spinning idle threads of one
          // would steal the cores another is computing on.
          extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
          ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {})
        })
        return new OrtSession(session, eps[0])
      } catch (err) {
        lastError = err
      }
    }
    throw new ApiError('unsupported', `onnxruntime cannot load ${label}: ${(lastError as Error).message}`, label)
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames
  }

  async run(feeds: Feeds, fetches?: string[]): Promise<Fetched> {
    return (await this.session.run(feeds, fetches ?? [...this.session.outputNames])) as Fetched
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

export function floatTensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims)
}

export function int64Tensor(values: ArrayLike<number>, dims: number[] = [values.length]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims)
}

export { ort }
