import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { FewshotConfig } from '../../src/shared/fewshot'
import { readCheckpoint } from '../../src/main/engine/fewshot/checkpoint'
import { fashionMnistDataset } from '../../src/main/engine/fewshot/data/fashion-mnist'
import { fashionMnist } from '../../src/main/engine/fewshot/data/idx'
import { evaluateCheckpoint, runMetaTraining, type MetaTrainOptions } from '../../src/main/engine/fewshot/meta-train'
import { loadFolderDataset } from '../../src/main/engine/fewshot/data/folder'
import { ROOT } from '../helpers'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import type { MetaTrainItem } from '../../src/shared/fewshot'
import { jobHarness } from '../job-harness'

/**
 * Meta-training the built-in Conv-4 on real Fashion-MNIST (Debian's dataset-fashion-mnist, which
 * .ci/run installs): the query loss goes down, a cancelled run leaves a valid checkpoint, and resuming
 * it reaches exactly the weights of an uninterrupted run.
 */
const missing = fashionMnist().reason
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length

describe.skipIf(!!missing)(`meta-training on Fashion-MNIST${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const options = async (dir: string, over: Partial<MetaTrainOptions> = {}): Promise<MetaTrainOptions> => ({
    dataset: await fashionMnistDataset(),
    trainClasses: [0, 1, 2, 3, 4],
    testClasses: [5, 6, 7, 8, 9],
    config: FewshotConfig.parse({ method: 'fomaml', ways: 5, shots: 1, queries: 5, trainSteps: 2, metaBatch: 2, metaRate: 0.003, seed: 3 }),
    iterations: 40,
    checkpointPath: join(dir, 'run.ckpt.json'),
    checkpointEvery: 5,
    threads: 2,
    ...over
  })

  it('lowers the query loss over a short first-order MAML run and writes a model that opens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-metatrain-'))
    const result = await runMetaTraining(await options(dir, { modelOut: join(dir, 'conv4.onnx'), evalEpisodes: 20 }))
    const losses = result.history.map((h) => h.loss)
    expect(losses).toHaveLength(40)
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) - 0.1)
    expect(result.evaluation!.accuracy).toBeGreaterThan(0.3) // 5-way chance is 0.2
    const model = await LoadedModel.open(result.model!)
    expect(model.numClasses).toBe(5)
    expect(model.summary.metadata['metascope.fewshot']).toContain('fomaml')
  })

  it('fine-tune pretrains the whole network on all meta-training classes, and its tests start from that body', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-finetune-'))
    const ft = (iterations: number) =>
      options(dir, { iterations, evalEpisodes: 20, checkpointPath: join(dir, `ft${iterations}.json`), config: FewshotConfig.parse({ method: 'finetune', ways: 5, shots: 1, queries: 5, metaBatch: 2, metaRate: 0.003, seed: 3 }) })
    const trained = await runMetaTraining(await ft(40))
    const losses = trained.history.map((h) => h.loss)
    // Supervised 5-class batches: the loss starts near ln 5 and must fall (a zero head would pin it there).
    expect(mean(losses.slice(0, 5))).toBeGreaterThan(1.2)
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) - 0.2)
    const untrained = await runMetaTraining(await ft(0))
    // Same test episodes and the same zero-head fine-tune; only the body differs.
    expect(trained.evaluation!.accuracy).not.toBeCloseTo(untrained.evaluation!.accuracy, 6)
  })

  it('saves a valid checkpoint when cancelled, and resuming continues to the same weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-resume-'))
    let seen = 0
    const cancelled = runMetaTraining(
      await options(dir, {
        iterations: 12,
        onIteration: () => seen++,
        throwIfCancelled: () => {
          if (seen === 7) throw new ApiError('cancelled', 'The job was cancelled.')
        }
      })
    )
    await expect(cancelled).rejects.toMatchObject({ code: 'cancelled' })
    const cp = await readCheckpoint(join(dir, 'run.ckpt.json'))
    expect(cp.iteration).toBe(7)
    expect(cp.history).toHaveLength(7)

    const resumed = await runMetaTraining(await options(dir, { iterations: 12, resume: true }))
    expect(resumed.resumedFrom).toBe(7)
    expect(resumed.history.map((h) => h.iteration)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))

    const straightDir = await mkdtemp(join(tmpdir(), 'ms-straight-'))
    const straight = await runMetaTraining(await options(straightDir, { iterations: 12 }))
    const a = await readCheckpoint(resumed.checkpoint)
    const b = await readCheckpoint(straight.checkpoint)
    expect(Object.keys(a.params)).toEqual(Object.keys(b.params))
    const decode = (s: string) => new Float32Array(Uint8Array.from(Buffer.from(s, 'base64')).buffer)
    for (const name of Object.keys(a.params)) {
      const x = decode(a.params[name].value.data)
      const y = decode(b.params[name].value.data)
      let worst = 0
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]))
      expect(worst, name).toBeLessThan(1e-5)
    }
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss).map((l, i) => (i < 7 ? resumed.history[i].loss : l)))
  })

  it('refuses a corrupt checkpoint and one saved for other settings, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ms-badckpt-'))
    const path = join(dir, 'run.ckpt.json')
    await writeFile(path, '{"format": "metascope-fewshot-checkpoint", "version": 1, "params": ')
    await expect(runMetaTraining(await options(dir, { iterations: 2, resume: true }))).rejects.toThrow(/run\.ckpt\.json is not a Metascope checkpoint: it is not valid JSON/)
    await runMetaTraining(await options(dir, { iterations: 2, checkpointPath: join(dir, 'ok.json') }))
    const other = await options(dir, { iterations: 3, resume: true, checkpointPath: join(dir, 'ok.json') })
    other.config = { ...other.config, shots: 2 }
    await expect(runMetaTraining(other)).rejects.toThrow(/ok\.json does not match this run: shots is 1 in the checkpoint but 2 here/)
    const text = JSON.parse(await readFile(join(dir, 'ok.json'), 'utf8'))
    text.params['block1.conv.weight'].value.dims = [64, 1, 3, 2]
    await writeFile(join(dir, 'dims.json'), JSON.stringify(text))
    await expect(runMetaTraining(await options(dir, { iterations: 3, resume: true, checkpointPath: join(dir, 'dims.json') }))).rejects.toThrow(/dims\.json does not match this run: weight block1\.conv\.weight is \[64, 1, 3, 2\]/)
    // Images of another size and channel count than the checkpoint's network: a folder of RGB images at 32 px.
    const rgb = (await loadFolderDataset(join(ROOT, 'resources', 'demo', 'images'), { size: [32, 32], channels: 3 })).dataset
    await expect(evaluateCheckpoint({ dataset: rgb, checkpointPath: join(dir, 'ok.json'), testClasses: [5, 6, 7, 8, 9], episodes: 2 })).rejects.toThrow(
      /ok\.json takes 1 x 28 x 28 images; .* has 3 x 32 x 32/
    )
  })
})

describe.skipIf(!!missing)('fewshot.metaTrain and fewshot.evaluate as jobs', () => {
  it('streams iteration, loss and accuracy, cancels leaving a valid checkpoint, resumes, and evaluates', async () => {
    const { service, events, until } = jobHarness()
    const dir = await mkdtemp(join(tmpdir(), 'ms-job-'))
    const args = {
      dataset: { kind: 'fashion-mnist' },
      trainClasses: '0-4',
      testClasses: '5-9',
      config: { method: 'protonet', ways: 5, shots: 1, queries: 5, metaBatch: 2, seed: 1 },
      iterations: 400,
      checkpoint: join(dir, 'ckpt.json'),
      checkpointEvery: 3,
      evalEpisodes: 10
    }
    const { jobId } = (await service.call('fewshot.metaTrain', args)) as { jobId: string }
    await until((e) => e.type === 'job.item' && e.jobId === jobId && (e.item as MetaTrainItem).iteration === 4)
    await service.call('jobs.cancel', { jobId })
    await until((e) => e.type === 'job.cancelled' && e.jobId === jobId)
    const items = events.filter((e) => e.type === 'job.item' && e.jobId === jobId).map((e) => (e as { item: MetaTrainItem }).item)
    expect(items[0]).toMatchObject({ iteration: 1, supportLoss: [] })
    expect(items.every((it) => Number.isFinite(it.loss) && it.accuracy >= 0 && it.accuracy <= 1)).toBe(true)
    const cp = await readCheckpoint(args.checkpoint)
    // An iteration in flight when cancel came still completes and is kept; no item is sent after cancel.
    expect(cp.iteration).toBeGreaterThanOrEqual(items.length)
    expect(cp.history.map((h) => h.loss).slice(0, items.length)).toEqual(items.map((it) => it.loss))

    const resumed = (await service.call('fewshot.metaTrain', { ...args, iterations: cp.iteration + 2, resume: true })) as { jobId: string }
    const done = (await until((e) => e.type === 'job.done' && e.jobId === resumed.jobId)) as { result: { resumedFrom: number; iterations: number; evaluation: { accuracy: number; episodes: number }; backend: string } }
    expect(done.result).toMatchObject({ resumedFrom: cp.iteration, iterations: cp.iteration + 2 })
    expect(done.result.evaluation.episodes).toBe(10)
    expect(done.result.backend).toMatch(/onnxruntime-node \(cpu|cuda/)

    const evaluated = (await service.call('fewshot.evaluate', { dataset: { kind: 'fashion-mnist' }, checkpoint: args.checkpoint, testClasses: '5-9', episodes: 10 })) as { jobId: string }
    const evalDone = (await until((e) => (e.type === 'job.done' || e.type === 'job.failed') && e.jobId === evaluated.jobId)) as { type: string; result: { accuracy: number; ci95: number; iteration: number } }
    expect(evalDone.type).toBe('job.done')
    // Same weights, same seed, same test episodes: the same accuracy as the run's own evaluation.
    expect(evalDone.result.accuracy).toBeCloseTo(done.result.evaluation.accuracy, 10)
    expect(evalDone.result.iteration).toBe(cp.iteration + 2)
  })

  it('says clearly what is wrong with bad class splits', async () => {
    const { service } = jobHarness()
    const base = { dataset: { kind: 'fashion-mnist' }, iterations: 1, checkpoint: join(tmpdir(), 'never.json') }
    await expect(service.call('fewshot.metaTrain', { ...base, trainClasses: '0', testClasses: '5-9' })).rejects.toThrow(/meta-training classes has 1 class .*few-shot needs at least 2 classes/)
    await expect(service.call('fewshot.metaTrain', { ...base, trainClasses: '0-12', testClasses: '5-9' })).rejects.toThrow(/12/)
    await expect(service.call('fewshot.metaTrain', { ...base, trainClasses: '0-5', testClasses: '5-9' })).rejects.toThrow(/disjoint; both include 5/)
  })
})
