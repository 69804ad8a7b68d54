import { floatTensor, OrtSession } from '../exec/ort'
import type { LoadedModel } from '../model/loaded-model'
import { probabilitiesFrom } from '../model/scores'

/** One perturbed input to score: written into the batch buffer only when its batch runs. */
export interface ScoreTask {
  fill(dst: Float32Array): void
  target: number
  /** Receives p(target | input), read from the model's output as the CAM runner reads it, and every class's probability. */
  done(probability: number, probabilities: Float64Array): void
}

/**
 * Runs many perturbed copies of images through the plain model in batches of `batch`, filling one
 * reused buffer lazily from a task iterator: memory is one batch of inputs however many tasks there
 * are, and one onnxruntime call serves `batch` inputs (the amortisation audit-bench measures).
 */
export class ForwardScorer {
  private constructor(
    readonly model: LoadedModel,
    private readonly session: OrtSession,
    readonly batch: number
  ) {}

  /** Inputs scored so far (for benchmarks). */
  scored = 0
  runs = 0

  static async create(model: LoadedModel, batch: number, threads?: number): Promise<ForwardScorer> {
    const size = model.dynamicBatch ? Math.max(1, batch) : model.fixedBatch
    return new ForwardScorer(model, await OrtSession.create(model.bytes, model.path, { intraOpThreads: threads }), size)
  }

  get provider(): string {
    return this.session.provider
  }

  async score(tasks: Iterable<ScoreTask>, throwIfCancelled?: () => void): Promise<void> {
    const m = this.model
    const per = m.inputDims(1).slice(1).reduce((a, d) => a * d, 1)
    const buffer = new Float32Array(this.batch * per)
    let pending: ScoreTask[] = []
    const flush = async () => {
      throwIfCancelled?.()
      const n = pending.length
      // A fixed-batch model takes exactly its batch: the rest of the buffer holds stale inputs whose scores are dropped.
      const runN = m.dynamicBatch ? n : this.batch
      const out = await this.session.run({ [m.inputName]: floatTensor(buffer.subarray(0, runN * per), m.inputDims(runN)) }, [m.logitsName])
      const logits = out[m.logitsName].data as Float32Array
      const k = m.numClasses
      for (let i = 0; i < n; i++) {
        const p = probabilitiesFrom(logits.subarray(i * k, (i + 1) * k), m.score.activation)
        pending[i].done(p[pending[i].target], p)
      }
      this.scored += n
      this.runs++
      pending = []
    }
    for (const t of tasks) {
      t.fill(buffer.subarray(pending.length * per, (pending.length + 1) * per))
      pending.push(t)
      if (pending.length === this.batch) await flush()
    }
    if (pending.length) await flush()
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}
