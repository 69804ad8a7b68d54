import type { ApiErrorShape } from '../../../shared/errors'
import type { Preprocess } from '../data/preprocess-spec'
import { inputError, loadInput, type CamInput } from '../model/inputs'
import type { CamMap, CamRunner } from './runner'

export type CamOutcome =
  | { ok: true; input: CamInput; result: CamMap; ms: number }
  | { ok: false; input: CamInput; error: ApiErrorShape }

export interface CamBatchOptions {
  runner: CamRunner
  inputs: CamInput[]
  preprocess: Preprocess
  /** Class index or -1 (top-1) for every input. */
  target: number
  batch: number
  /** Called once per input, in order, as soon as its result (or error) exists. */
  onOutcome: (outcome: CamOutcome, done: number) => Promise<void> | void
  /**
   * A forward method's passes within one input (Score-CAM's masked batches): `finished` inputs before
   * it have their maps, though their outcomes come only with their batch.
   */
  onStep?: (step: { input: CamInput; finished: number; done: number; total: number }) => void
  throwIfCancelled?: () => void
}

/**
 * Streams CAM results over many inputs in fixed-size batches: decode a batch (in parallel), run it
 * (one onnxruntime call), hand each result to the sink, drop it. Memory stays bounded by one batch,
 * whatever the number of inputs. A bad input becomes its own error outcome; the rest still run.
 * `ms` is the engine's time per image: the batch's graph run plus map post-processing, divided by
 * its size (decoding and file output excluded).
 */
export async function runCamBatches(opts: CamBatchOptions): Promise<{ ok: number; failed: number }> {
  const { runner, inputs } = opts
  const size = Math.max(1, Math.min(opts.batch, runner.batchLimit))
  let done = 0
  let ok = 0
  let failed = 0
  for (let start = 0; start < inputs.length; start += size) {
    opts.throwIfCancelled?.()
    const chunk = inputs.slice(start, start + size)
    const loaded = await Promise.all(
      chunk.map(async (input) => {
        try {
          return { input, data: await loadInput(input, runner.model, opts.preprocess) }
        } catch (err) {
          return { input, error: inputError(input, err) }
        }
      })
    )
    const group = loaded.filter((l): l is { input: CamInput; data: Float32Array } => 'data' in l)
    const results = new Map<CamInput, { result: CamMap; ms: number }>()
    if (group.length) {
      opts.throwIfCancelled?.()
      // A model with a fixed batch size takes exactly that many images: a short batch (the last one,
      // or one with unreadable images) is padded with copies of its last image, whose maps are dropped.
      const runSize = runner.model.dynamicBatch ? group.length : runner.model.fixedBatch
      const data = Array.from({ length: runSize }, (_, i) => group[Math.min(i, group.length - 1)].data)
      const batch = runner.stack(data)
      const t0 = performance.now()
      const report = opts.onStep
      const onStep =
        report &&
        ((i: number, done: number, total: number) => {
          // Padding copies (i beyond the group) repeat an image already counted: they report nothing.
          if (i < group.length) report({ input: group[i].input, finished: start + chunk.indexOf(group[i].input), done, total })
        })
      const maps = await runner.run(batch, data.map(() => opts.target), opts.throwIfCancelled, onStep)
      const ms = (performance.now() - t0) / group.length
      group.forEach((g, i) => results.set(g.input, { result: maps[i], ms }))
    }
    for (const l of loaded) {
      done++
      const r = results.get(l.input)
      if (r) {
        ok++
        await opts.onOutcome({ ok: true, input: l.input, ...r }, done)
      } else {
        failed++
        await opts.onOutcome({ ok: false, input: l.input, error: 'error' in l && l.error ? l.error : { code: 'internal', message: 'no result' } }, done)
      }
    }
  }
  return { ok, failed }
}
