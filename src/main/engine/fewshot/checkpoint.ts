import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { z } from 'zod'
import { ApiError } from '../../../shared/errors'
import { batchNormOf, FewshotConfig } from '../../../shared/fewshot'
import { writeFileAtomic } from '../files/safe-write'
import { prepareOutputDir } from '../files/output-dir'
import { fileError } from '../errors'
import type { ParamStore } from '../train/params'
import type { MetaLearner } from './learner'

/**
 * A meta-training checkpoint: configuration, the network's recipe, the iteration, every meta-parameter
 * (and Meta-SGD rate) with Adam's moments, BatchNorm's running statistics when tracked, and the loss history. One JSON file, tensors as base64
 * float32, written by write-then-rename so a crash or cancel never leaves a half-written file.
 */
const Tensor = z.object({ dims: z.array(z.number().int().nonnegative()), data: z.string() })
const Slot = z.object({ value: Tensor, m: Tensor, v: Tensor })

export const NetRecipe = z.object({
  kind: z.literal('conv4'),
  channels: z.number().int().positive(),
  size: z.number().int().positive(),
  ways: z.number().int().positive(),
  seed: z.number().int().nonnegative()
})
export type NetRecipe = z.infer<typeof NetRecipe>

export const HistoryEntry = z.object({ iteration: z.number().int(), loss: z.number(), accuracy: z.number() })
export type HistoryEntry = z.infer<typeof HistoryEntry>

export const Checkpoint = z.object({
  format: z.literal('metascope-fewshot-checkpoint'),
  version: z.literal(1),
  savedAt: z.string(),
  config: FewshotConfig,
  /** What the run trains on, so a resume can check it is the same task. */
  task: z.record(z.string(), z.unknown()),
  net: NetRecipe,
  iteration: z.number().int().nonnegative(),
  adamStep: z.number().int().nonnegative(),
  params: z.record(z.string(), Slot),
  rates: z.record(z.string(), Slot).nullable(),
  /** BatchNorm running statistics (the 'running' convention); absent under batch statistics. */
  stats: z.record(z.string(), Tensor).optional(),
  history: z.array(HistoryEntry)
})
export type Checkpoint = z.infer<typeof Checkpoint>

const encode = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
function decode(s: string): Float32Array {
  const b = Buffer.from(s, 'base64')
  const copy = new Uint8Array(b.byteLength)
  copy.set(b)
  return new Float32Array(copy.buffer)
}

export async function saveCheckpoint(path: string, learner: MetaLearner, net: NetRecipe, task: Record<string, unknown>, history: HistoryEntry[]): Promise<void> {
  const { m, v } = learner.adam.state
  let k = 0
  const slots = (store: ParamStore) =>
    Object.fromEntries(
      [...store].map(([name, t]) => {
        const i = k++
        return [name, { value: { dims: t.dims, data: encode(t.data) }, m: { dims: t.dims, data: encode(m[i]) }, v: { dims: t.dims, data: encode(v[i]) } }]
      })
    )
  const params = slots(learner.params)
  const rates = learner.rates ? slots(learner.rates) : null
  const cp: Checkpoint = {
    format: 'metascope-fewshot-checkpoint',
    version: 1,
    savedAt: new Date().toISOString(),
    // The convention is written out, so a later default cannot change what a checkpoint means.
    config: { ...learner.opts.config, batchNorm: batchNormOf(learner.opts.config) },
    task,
    net,
    iteration: learner.iteration,
    adamStep: learner.adam.state.step,
    params,
    rates,
    ...(learner.stats ? { stats: Object.fromEntries([...learner.stats.values].map(([k, t]) => [k, { dims: t.dims, data: encode(t.data) }])) } : {}),
    history
  }
  await prepareOutputDir(dirname(path), 'checkpoint')
  await writeFileAtomic(path, JSON.stringify(cp))
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const file = basename(path)
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'checkpoint')
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ApiError('bad-file', `${file} is not a Metascope checkpoint: it is not valid JSON (${(err as Error).message}).`, path)
  }
  const parsed = Checkpoint.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ApiError('bad-file', `${file} is not a valid Metascope checkpoint: ${issue.path.join('.') || 'file'}: ${issue.message}.`, path)
  }
  return parsed.data
}

/**
 * Loads a checkpoint into a learner built for the same configuration and network: every tensor must
 * be there with the same dims and length; anything else is a mismatch that names the file and the first difference.
 */
export function restoreCheckpoint(path: string, cp: Checkpoint, learner: MetaLearner): void {
  const file = basename(path)
  const mismatch = (what: string) => new ApiError('bad-file', `${file} does not match this run: ${what}.`, path)
  const config = learner.opts.config
  for (const key of Object.keys(config) as (keyof typeof config)[]) {
    if (key === 'batchNorm') continue
    if (cp.config[key] !== config[key]) throw mismatch(`${key} is ${String(cp.config[key])} in the checkpoint but ${String(config[key])} here`)
  }
  const [saved, here] = [savedBatchNorm(cp), batchNormOf(config)]
  if (saved !== here) throw mismatch(`batchNorm is ${saved} in the checkpoint but ${here} here`)
  const { m, v } = learner.adam.state
  let k = 0
  const load = (store: ParamStore, slots: Record<string, z.infer<typeof Slot>> | null, kind: string) => {
    for (const [name, t] of store) {
      const i = k++
      const s = slots?.[name]
      if (!s) throw mismatch(`it has no ${kind} ${name}`)
      const parts = [decode(s.value.data), decode(s.m.data), decode(s.v.data)]
      if (s.value.dims.join('x') !== t.dims.join('x') || parts.some((p) => p.length !== t.data.length)) {
        throw mismatch(`${kind} ${name} is [${s.value.dims.join(', ')}] there but [${t.dims.join(', ')}] here`)
      }
      t.data.set(parts[0])
      m[i].set(parts[1])
      v[i].set(parts[2])
    }
  }
  load(learner.params, cp.params, 'weight')
  if (learner.rates) load(learner.rates, cp.rates, 'rate')
  for (const [name, t] of learner.stats?.values ?? []) {
    const s = cp.stats?.[name]
    if (!s) throw mismatch(`it has no running statistic ${name}`)
    const data = decode(s.data)
    if (data.length !== t.data.length) throw mismatch(`running statistic ${name} has ${data.length} values there but ${t.data.length} here`)
    t.data.set(data)
  }
  if (learner.stats) learner.stats.version++
  learner.iteration = cp.iteration
  learner.adam.state.step = cp.adamStep
}

/** A checkpoint's BatchNorm convention: the one it names, or batch statistics (checkpoints from before the choice existed). */
export function savedBatchNorm(cp: Checkpoint): 'batch' | 'running' {
  return cp.config.batchNorm ?? 'batch'
}
