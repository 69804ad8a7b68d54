import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ApiError } from '../../shared/errors'
import { runCamBatches } from '../engine/cam/batch-job'
import { COLORMAP_NAMES, type ColormapName } from '../engine/cam/colormap'
import { collectInputs, modelForInputs, modelPreprocess } from '../engine/model/inputs'
import { CAM_METHODS, type CamMethod } from '../engine/cam/methods'
import { toRecord, type CamRecord } from '../engine/cam/record'
import { CamRunner } from '../engine/cam/runner'
import { writeCamFiles } from '../engine/cam/writer'
import { prepareOutputDir } from '../engine/files/output-dir'
import { openNewFile, writeFileAtomic } from '../engine/files/safe-write'
import { readLabelsFile } from '../engine/onnx/summary'
import { LoadedModel } from '../engine/model/loaded-model'
import { CHANNEL_ORDERS, parseSize, type ChannelOrder, type Normalization, type Preprocess } from '../engine/data/preprocess'

export const CAM_USAGE = `cam --model M.onnx --images PATH... --out DIR [--layer auto|NAME|SCOPE] [--method ${CAM_METHODS.join('|')}]
    [--target top1|INDEX|LABEL] [--batch 8] [--labels F] [--colormap ${COLORMAP_NAMES.join('|')}] [--alpha 0.5]
    [--normalization imagenet|unit|symmetric] [--resize stretch|center-crop] [--channel-order rgb|bgr]
    [--size WxH (models with dynamic height/width; default: the model's metadata, the .npy inputs' size, else 224x224)]
    [--threads N]
    --layer takes auto, a tensor name or a unique suffix of one (Conv_1/Relu6), an exporter scope
    (layer4, /features/features.10) or a PyTorch module path (features.10, layer4.1.conv2).`

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ApiError('invalid-arguments', `--${flag} must be one of ${allowed.join(', ')} (got "${value}").`)
  }
  return value as T
}

export function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new ApiError('invalid-arguments', `--${flag} must be a positive whole number (got "${value}").`)
  return n
}

export async function openModel(modelPath: string | undefined, labelsPath: string | undefined): Promise<LoadedModel> {
  if (!modelPath) throw new ApiError('invalid-arguments', '--model is required.')
  const labels = labelsPath ? await readLabelsFile(resolve(labelsPath)) : null
  return LoadedModel.open(resolve(modelPath), labels)
}

/**
 * `cam`: heatmaps for every input, written as they are made; results.json at the end (results.jsonl
 * grows line by line meanwhile, so a long run can be followed). Exit 0 when all inputs succeeded.
 */
export async function camCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      images: { type: 'string', multiple: true },
      out: { type: 'string' },
      layer: { type: 'string', default: 'auto' },
      method: { type: 'string' },
      target: { type: 'string' },
      batch: { type: 'string' },
      labels: { type: 'string' },
      colormap: { type: 'string' },
      alpha: { type: 'string' },
      normalization: { type: 'string' },
      resize: { type: 'string' },
      'channel-order': { type: 'string' },
      size: { type: 'string' },
      threads: { type: 'string' }
    },
    allowPositionals: true,
    strict: true
  })
  // `--images a b c`: parseArgs takes one value per flag; the rest arrive as positionals.
  const imagePaths = [...(values.images ?? []), ...positionals]
  if (!imagePaths.length) throw new ApiError('invalid-arguments', '--images needs at least one image file, folder or .npy tensor.')
  if (!values.out) throw new ApiError('invalid-arguments', '--out DIR is required.')
  const method = oneOf<CamMethod>(values.method, CAM_METHODS, 'method', 'gradcam')
  const colormap = oneOf<ColormapName>(values.colormap, COLORMAP_NAMES, 'colormap', 'jet')
  const alpha = values.alpha === undefined ? 0.5 : Number(values.alpha)
  if (!(alpha >= 0 && alpha <= 1)) throw new ApiError('invalid-arguments', `--alpha must be between 0 and 1 (got "${values.alpha}").`)
  const batch = positiveInt(values.batch, 'batch', 8)
  const threads = values.threads ? positiveInt(values.threads, 'threads', 1) : undefined

  const size = values.size === undefined ? undefined : parseSize(values.size)
  // Flags left out fall back to the model's metadata (metascope.normalization / .resize / .channel_order), then defaults.
  const overrides: Partial<Preprocess> = {}
  if (values.normalization) overrides.normalization = oneOf<Normalization>(values.normalization, ['imagenet', 'unit', 'symmetric'], 'normalization', 'imagenet')
  if (values.resize) overrides.resize = oneOf(values.resize, ['stretch', 'center-crop'] as const, 'resize', 'stretch')
  if (values['channel-order']) overrides.channelOrder = oneOf<ChannelOrder>(values['channel-order'].toLowerCase(), CHANNEL_ORDERS, 'channel-order', 'rgb')

  const { inputs, failed } = await collectInputs(imagePaths.map((p) => resolve(p)))
  // A model with dynamic height/width runs at --size, else at the .npy inputs' own size.
  const model = await modelForInputs(await openModel(values.model, values.labels), inputs, size)
  const target = model.resolveTarget(values.target)
  const preprocess = modelPreprocess(model, overrides)
  const runner = await CamRunner.create(model, { method, layer: values.layer ?? 'auto', threads })
  const dir = await prepareOutputDir(values.out, '--out')
  const records: CamRecord[] = failed.map((f) => ({ file: f.file, stem: '', ok: false, kind: 'image', error: f.error, method, layer: runner.layer }))
  const lines = await openNewFile(join(dir, 'results.jsonl'))
  try {
    for (const r of records) {
      await lines.write(JSON.stringify(r) + '\n')
      process.stderr.write(`error: ${r.ok ? '' : r.error.message}\n`)
    }
    await runCamBatches({
      runner,
      inputs,
      preprocess,
      target,
      batch,
      onOutcome: async (o, done) => {
        const record = toRecord(o, runner.layer, method, runner.provider)
        if (o.ok && record.ok) record.outputs = await writeCamFiles(o, { dir, colormap, alpha, preprocess })
        if (!record.ok) process.stderr.write(`error: ${record.error.message}\n`)
        records.push(record)
        await lines.write(JSON.stringify(record) + '\n')
        if (process.stderr.isTTY) process.stderr.write(`\r${done}/${inputs.length}`)
      }
    })
  } finally {
    await lines.close()
    await runner.release()
  }
  await writeFileAtomic(join(dir, 'results.json'), JSON.stringify(records, null, 1) + '\n')
  if (process.stderr.isTTY) process.stderr.write('\n')
  const bad = records.filter((r) => !r.ok).length
  process.stderr.write(`${records.length - bad} of ${records.length} inputs done; results in ${join(dir, 'results.json')}\n`)
  return bad ? 1 : 0
}
