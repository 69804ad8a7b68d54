import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { adaptHead, MAX_STEP_CHUNKS, stepChunk, type AdaptHeadSpec } from '../../src/main/engine/fewshot/adapt/adapt-head'
import { resolveFeatures } from '../../src/main/engine/fewshot/adapt/features'
import { findHead } from '../../src/main/engine/fewshot/adapt/head'
import { featuresHeadNet, HEAD_BIAS, HEAD_WEIGHT } from '../../src/main/engine/fewshot/adapt/head-net'
import { METHODS } from '../../src/main/engine/fewshot/methods'
import { EpisodeRunner } from '../../src/main/engine/fewshot/runner'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { readParams } from '../../src/main/engine/train/params'
import { ROOT } from '../helpers'
import { jobHarness } from '../job-harness'

const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')

/** Deterministic, class-dependent feature rows (F = the demo head's 64): 3 classes, `per` rows each. */
function rows(count: number, f: number, seed: number): { x: Float32Array[]; y: Int32Array } {
  const x = Array.from({ length: count }, (_, i) => Float32Array.from({ length: f }, (_, j) => Math.abs(Math.sin((i % 3) * 7.1 + j * 0.37 + seed * (i + 1) * 0.013)) * 2))
  return { x, y: Int32Array.from({ length: count }, (_, i) => i % 3) }
}

async function spec(over: Partial<AdaptHeadSpec> = {}): Promise<AdaptHeadSpec> {
  const model = await LoadedModel.open(DEMO_MODEL)
  const head = findHead(model)
  const features = resolveFeatures(model, head)
  const s = rows(6, features.width, 1)
  const q = rows(9, features.width, 2)
  return { model, head, features, classes: ['a', 'b', 'c'], steps: 10, method: 'protomaml', innerRate: 0.1, support: s.x, supportLabels: s.y, query: q.x, queryLabels: q.y, ...over }
}

/** The reference: every step in one unrolled run of the planned graph (how the head was adapted before it streamed). */
async function oneRun(s: AdaptHeadSpec): Promise<{ weight: Float32Array; bias: Float32Array; losses: number[] }> {
  const plan = METHODS[s.method].headPlan(s)
  if (plan.kind !== 'steps') throw new Error('expected steps')
  const f = s.features.width
  const net = featuresHeadNet(f, plan.init)
  const graph = await METHODS[plan.graph].graph({ net, order: 'none', steps: s.steps, alpha: s.innerRate, ways: 3, supportBatch: s.support.length, queryBatch: s.query.length })
  const runner = await EpisodeRunner.create(graph, 'reference')
  const stack = (r: Float32Array[]) => {
    const out = new Float32Array(r.length * f)
    r.forEach((v, i) => out.set(v, i * f))
    return out
  }
  try {
    const batch = { ways: 3, shots: 2, queries: 3, support: stack(s.support), query: stack(s.query), supportLabels: s.supportLabels, queryLabels: s.queryLabels, imageShape: [f, 1, 1] as [number, number, number] }
    const out = await runner.run(batch, readParams(net.model, METHODS[plan.graph].metaParams(net)))
    return { weight: out.adapted.get(HEAD_WEIGHT)!, bias: out.adapted.get(HEAD_BIAS)!, losses: out.supportLosses }
  } finally {
    await runner.release()
  }
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i])))
}

describe('head-only adaptation in chunks of steps, streamed', () => {
  it('sizes chunks: one step per run up to the cap, then at most MAX_STEP_CHUNKS runs', () => {
    expect(stepChunk(1)).toBe(1)
    expect(stepChunk(MAX_STEP_CHUNKS)).toBe(1)
    expect(stepChunk(100)).toBe(4)
    expect(Math.ceil(1000 / stepChunk(1000))).toBeLessThanOrEqual(MAX_STEP_CHUNKS)
  })

  // 10 steps: one per run; 61 steps: chunks of 3 and a last chunk of 1 (a second graph); fine-tune starts in its own zero-head graph.
  for (const [method, steps] of [
    ['protomaml', 10],
    ['protomaml', 61],
    ['finetune', 61],
    ['anil', 7]
  ] as const) {
    it(`${method}, ${steps} steps: the chunks reach the head and losses of one unrolled run, and stream every step in order`, async () => {
      const s = await spec({ method, steps })
      const streamed: [number, number][] = []
      const r = await adaptHead({ ...s, onStep: (step, loss) => streamed.push([step, loss]) })
      const ref = await oneRun(s)
      expect(r.steps).toBe(steps)
      expectClose(r.supportLoss, ref.losses)
      expectClose(r.adapted.weight, ref.weight)
      expectClose(r.adapted.bias, ref.bias)
      expect(streamed.map(([step]) => step)).toEqual(Array.from({ length: steps }, (_, i) => i))
      expect(streamed.map(([, loss]) => loss)).toEqual(r.supportLoss)
      // The loss falls on this separable toy set: the steps did train.
      expect(r.supportLoss.at(-1)!).toBeLessThan(r.supportLoss[0])
    })
  }

  it('stops between chunks when cancelled, after streaming the steps that ran', async () => {
    const s = await spec({ steps: 20 })
    const streamed: number[] = []
    const cancelled = new ApiError('cancelled', 'cancelled by test')
    const run = adaptHead({ ...s, onStep: (step) => streamed.push(step), throwIfCancelled: () => {
      if (streamed.length >= 5) throw cancelled
    } })
    await expect(run).rejects.toBe(cancelled)
    expect(streamed).toEqual([0, 1, 2, 3, 4])
  })

  it('a diverging rate stops at the chunk that broke and says so', async () => {
    // Huge features and rate: the first step's update overflows float32.
    const base = await spec({ steps: 40, innerRate: 1e18 })
    const s = { ...base, support: base.support.map((r) => r.map((v) => v * 1e18)) }
    const streamed: number[] = []
    const err = await adaptHead({ ...s, onStep: (step) => streamed.push(step) }).catch((e: unknown) => e as ApiError)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).message).toMatch(/Adapting the head with protomaml diverged \(support loss .*\); use a smaller inner learning rate than 1000000000000000000 or fewer steps\./)
    expect(streamed.length).toBeLessThan(40)
  })
})

describe('fewshot.adapt as a job streams the head-only losses live', () => {
  it('every step is a job item before the adaptation stage ends', async () => {
    const { service, events, until } = jobHarness()
    const images = join(ROOT, 'resources', 'demo', 'images')
    const files = (c: string) => readdirSync(join(images, c)).sort().map((f) => join(images, c, f))
    const sets = { classes: ['Bag', 'Coat', 'Dress'].map((name) => ({ name, support: files(name).slice(0, 2), query: files(name).slice(2, 4) })) }
    const { jobId } = (await service.call('fewshot.adapt', { modelPath: DEMO_MODEL, sets, steps: 30 })) as { jobId: string }
    const end = await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === jobId)
    expect(end.type).toBe('job.done')
    const mine = events.filter((e) => 'jobId' in e && e.jobId === jobId)
    const items = mine.flatMap((e) => (e.type === 'job.item' ? [e.item as { step: number; supportLoss: number }] : []))
    expect(items.map((i) => i.step)).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect((end as { result: { supportLoss: number[] } }).result.supportLoss).toEqual(items.map((i) => i.supportLoss))
    // Live: the items come before the adaptation stage reports its end (they used to follow the whole run).
    const adapted = mine.findIndex((e) => e.type === 'job.progress' && e.phase === 'adaptation')
    const lastItem = mine.findLastIndex((e) => e.type === 'job.item')
    expect(adapted).toBeGreaterThan(lastItem)
  })
})
