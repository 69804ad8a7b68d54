import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { OrtSession, floatTensor } from '../engine/exec/ort'
import { z } from 'zod'
import { CamRunSettings } from '../../shared/api'
import { parseWith } from '../../shared/validate'
import { planCam } from '../engine/cam/plan'
import { openModel } from './cam-command'
import { given, num } from './flags'

/** cam.run's settings a benchmark varies, plus its own: timed batches after two warm-up ones. */
const BenchSettings = CamRunSettings.pick({ method: true, layer: true, batch: true, threads: true, target: true, steps: true, integration: true, samples: true, noise: true, seed: true }).extend({ iters: z.number().int().min(1).max(10_000).default(10) })

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * `bench cam`: our forward pass and our whole Grad-CAM (graph run + map post-processing) per image,
 * median over --iters timed batches after two warm-up batches, on deterministic inputs.
 */
export async function benchCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv
  if (what !== 'cam') throw new ApiError('invalid-arguments', `unknown benchmark "${what ?? ''}"; try: bench cam --model M.onnx`)
  const { values: v } = parseArgs({
    args: rest,
    options: {
      model: { type: 'string' },
      method: { type: 'string' },
      layer: { type: 'string' },
      batch: { type: 'string' },
      iters: { type: 'string' },
      threads: { type: 'string' },
      steps: { type: 'string' },
      integration: { type: 'string' },
      samples: { type: 'string' },
      noise: { type: 'string' },
      seed: { type: 'string' }
    },
    strict: true
  })
  const settings = parseWith(BenchSettings, given({ method: v.method, layer: v.layer, batch: num(v.batch), threads: num(v.threads), iters: num(v.iters), steps: num(v.steps), integration: v.integration, samples: num(v.samples), noise: num(v.noise), seed: num(v.seed) }), 'bench settings')
  const { method, iters, threads } = settings
  // The runner is set up as cam.run sets it up (planCam); the forward pass is the plain model, for comparison.
  const { model, runner } = await planCam(await openModel(v.model, undefined), [], settings)
  const [c, h, w] = model.inputChw
  const n = model.dynamicBatch ? settings.batch : model.fixedBatch
  const inputs = Array.from({ length: n }, (_, i) => Float32Array.from({ length: c * h * w }, (_, j) => Math.sin((j + 1) * 0.0137 * (i + 1))))
  const targets = inputs.map(() => -1)
  const forward = await OrtSession.create(model.bytes, model.path, { intraOpThreads: threads })
  // Both timings start from the same assembled batch buffer.
  const stacked = runner.stack(inputs)
  const feed = { [model.inputName]: floatTensor(stacked, model.inputDims(n)) }
  const fwdTimes: number[] = []
  const camTimes: number[] = []
  for (let i = 0; i < iters + 2; i++) {
    // Interleave the two so machine noise hits both alike.
    let t = performance.now()
    await forward.run(feed, [model.logitsName])
    const f = performance.now() - t
    t = performance.now()
    await runner.run(stacked, targets)
    const g = performance.now() - t
    if (i >= 2) {
      fwdTimes.push(f / n)
      camTimes.push(g / n)
    }
  }
  await forward.release()
  await runner.release()
  const round = (x: number) => Math.round(x * 1000) / 1000
  process.stdout.write(
    JSON.stringify({
      model: basename(model.path),
      method,
      layer: runner.layer,
      batch: n,
      provider: runner.provider,
      threads: threads ?? null,
      iters,
      forward_ms_per_image: round(median(fwdTimes)),
      cam_ms_per_image: round(median(camTimes))
    }) + '\n'
  )
  return 0
}
