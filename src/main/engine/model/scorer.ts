import { floatTensor, OrtSession } from '../exec/ort'
import { GraphBuilder } from '../onnx/builder'
import { DataType } from '../onnx/tensor-data'
import type { LoadedModel } from './loaded-model'
import { probabilitiesFrom } from './scores'

/** One perturbed input to score: written into the batch buffer only when its batch runs. */
export interface ScoreTask {
  fill(dst: Float32Array): void
  target: number
  /**
   * Receives p(target | input), read from the model's output as the CAM runner reads it, and every
   * class's probability; with `classScores` on, also every class's score before a final
   * Softmax/Sigmoid (the score the gradient attributions explain; the output itself when there is none).
   */
  done(probability: number, probabilities: Float64Array, scores?: Float64Array): void
}

export interface ForwardScorerOptions {
  threads?: number
  /** Also read the class scores before the model's final activation (a graph with that tensor as an output). */
  classScores?: boolean
}

/**
 * Runs many perturbed copies of images through the plain model in batches of `batch`, filling one
 * reused buffer lazily from a task iterator: memory is one batch of inputs however many tasks there
 * are, and one onnxruntime call serves `batch` inputs (the amortisation audit-bench measures). The
 * audit's faithfulness metrics and the perturbation attributions (Occlusion, RISE) both use it.
 */
export class ForwardScorer {
  private constructor(
    readonly model: LoadedModel,
    /** Its onnxruntime session (a CAM runner of a perturbation method reports its provider and releases it). */
    readonly session: OrtSession,
    readonly batch: number,
    /** The tensor holding the class scores before the final activation, when asked for and different from the output. */
    private readonly scoresName: string | null
  ) {}

  /** Inputs scored so far (for benchmarks). */
  scored = 0
  runs = 0

  /** `threads` may be given as a number (the audit's older form) or in the options. */
  static async create(model: LoadedModel, batch: number, options?: number | ForwardScorerOptions): Promise<ForwardScorer> {
    const o: ForwardScorerOptions = typeof options === 'number' ? { threads: options } : (options ?? {})
    const size = model.dynamicBatch ? Math.max(1, batch) : model.fixedBatch
    // The plain model when its output already is the score; else one more graph output, the tensor before the Softmax/Sigmoid.
    const extra = o.classScores && model.score.name !== model.logitsName ? model.score.name : null
    let bytes = model.bytes
    if (extra) {
      const b = new GraphBuilder(model.model)
      b.setOutputs([model.logitsName, extra], [DataType.FLOAT, DataType.FLOAT])
      bytes = b.encode()
    }
    return new ForwardScorer(model, await OrtSession.create(bytes, model.path, { intraOpThreads: o.threads }), size, o.classScores ? (extra ?? model.logitsName) : null)
  }

  get provider(): string {
    return this.session.provider
  }

  /**
   * Scores every task, `batch` per onnxruntime run. `throwIfCancelled` is asked before each run and
   * `onBatch` told after each (inputs scored so far in this call), so a long call can show progress.
   */
  async score(tasks: Iterable<ScoreTask>, throwIfCancelled?: () => void, onBatch?: (scored: number) => void): Promise<void> {
    const m = this.model
    const per = m.inputDims(1).slice(1).reduce((a, d) => a * d, 1)
    const buffer = new Float32Array(this.batch * per)
    let pending: ScoreTask[] = []
    let scored = 0
    const names = this.scoresName && this.scoresName !== m.logitsName ? [m.logitsName, this.scoresName] : [m.logitsName]
    const flush = async () => {
      throwIfCancelled?.()
      const n = pending.length
      // A fixed-batch model takes exactly its batch: the rest of the buffer holds stale inputs whose scores are dropped.
      const runN = m.dynamicBatch ? n : this.batch
      const out = await this.session.run({ [m.inputName]: floatTensor(buffer.subarray(0, runN * per), m.inputDims(runN)) }, names)
      const logits = out[m.logitsName].data as Float32Array
      // The score tensor may be [N, K, 1, 1]: K values per input either way.
      const raw = this.scoresName ? (out[this.scoresName].data as Float32Array) : null
      const k = m.numClasses
      for (let i = 0; i < n; i++) {
        const p = probabilitiesFrom(logits.subarray(i * k, (i + 1) * k), m.score.activation)
        pending[i].done(p[pending[i].target], p, raw ? Float64Array.from(raw.subarray(i * k, (i + 1) * k)) : undefined)
      }
      this.scored += n
      this.runs++
      scored += n
      pending = []
      onBatch?.(scored)
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
