import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CamRunSettings, methods } from '../../shared/api'
import { ApiError } from '../../shared/errors'
import { ATTRIBUTION_PARAMS, CAM_METHOD_CATALOGUE, CAM_METHOD_IDS, camMethodReadsLayer, type AttributionParam } from '../../shared/registry/cam-methods'
import { parseWith } from '../../shared/validate'
import { runCamBatches } from '../engine/cam/batch-job'
import { COLORMAP_NAMES } from '../engine/cam/colormap'
import { planCam } from '../engine/cam/plan'
import { methodParams, toRecord, type CamRecord } from '../engine/cam/record'
import { writeCamFiles } from '../engine/cam/writer'
import { prepareOutputDir } from '../engine/files/output-dir'
import { openNewFile, writeFileAtomic } from '../engine/files/safe-write'
import { collectInputs } from '../engine/model/inputs'
import { LoadedModel } from '../engine/model/loaded-model'
import { readLabelsFile } from '../engine/onnx/summary'
import { given, num, PREPROCESS_OPTIONS, preprocessFlags, preprocessUsage } from './flags'

export const CAM_USAGE = `cam --model M.onnx --images PATH... --out DIR [--layer auto|NAME|SCOPE[,...]] [--method ${CAM_METHOD_IDS.join('|')}]
    [--target top1|INDEX|LABEL|contrast:A,B|output:K|region:C@X0,Y0,X1,Y1|similarity:FILE] [--batch 8] [--labels F] [--colormap ${COLORMAP_NAMES.join('|')}] [--alpha 0.5]
    ${preprocessUsage('    ', "the model's metadata, the .npy inputs' size, else 224x224")}
    [--threads N]
    ${attributionUsage('    ')}
    --layer takes auto, a tensor name or a unique suffix of one (Conv_1/Relu6), an exporter scope
    (layer4, /features/features.10) or a PyTorch module path (features.10, layer4.1.conv2); several,
    separated by commas (layer2,layer4), average the CAMs of those layers as pytorch-grad-cam does (each
    min-max scaled at the input's size; the .raw.npy is that average). The pixel
    attributions (${CAM_METHOD_CATALOGUE.filter((m) => m.group !== 'cam').map((m) => m.id).join(', ')}) explain the input itself:
    they ignore --layer (except ${CAM_METHOD_CATALOGUE.filter((m) => m.group === 'gradient' && camMethodReadsLayer(m.id)).map((m) => m.id).join(', ')}, whose Grad-CAM factor is
    that layer's), and their maps are at the input's size (.raw.npy signed for ${CAM_METHOD_CATALOGUE.filter((m) => m.signed).map((m) => m.id).join(', ')}).
    --target: what the map explains. top1 (default), a class index or a label: that class's score;
    contrast:A,B: score(A) - score(B) (why A and not B); output:K: the K-th output before a final Sigmoid
    (multi-label, regression); region:C@X0,Y0,X1,Y1: a segmentation model's class C logits summed over output
    pixels X0 <= x < X1, Y0 <= y < Y1 (region:C: the whole output; a plain class on a segmentation model is
    its mean over the output); similarity:FILE: cosine similarity of the [N, D] output (an embedding) to
    FILE's. Contrast, region and similarity need a gradient method (not the forward or perturbation ones).
    The perturbation ones (${CAM_METHOD_CATALOGUE.filter((m) => m.group === 'perturbation').map((m) => m.id).join(', ')}) only run the model forward: one run per window or mask.
    Writes <image>.<method>.png, .cam.npy and .raw.npy per input (as an export from the app names them),
    results.jsonl as they are made and results.json at the end.`

/** The pixel attributions' flags and help, from the registry (each says which methods read it). */
function attributionUsage(indent: string): string {
  return (Object.entries(ATTRIBUTION_PARAMS) as [AttributionParam, (typeof ATTRIBUTION_PARAMS)[AttributionParam]][])
    .map(([name, p]) => {
      const users = CAM_METHOD_CATALOGUE.filter((m) => (m.params as readonly string[]).includes(name)).map((m) => m.id)
      return `[${p.flag} ${p.value}] ${p.help}; ${users.join(', ')}`
    })
    .join(`\n${indent}`)
}

/** cam.export's rendering flags, as the API's own schema takes them (the settings are cam.run's: CamRunSettings). */
const Rendering = methods['cam.export'].args.pick({ colormap: true, alpha: true })

/** A model file, with its labels file when given (as models.open). */
export async function openModel(modelPath: string | undefined, labelsPath: string | undefined): Promise<LoadedModel> {
  if (!modelPath) throw new ApiError('invalid-arguments', '--model is required.')
  const labels = labelsPath ? await readLabelsFile(resolve(labelsPath)) : null
  return LoadedModel.open(resolve(modelPath), labels)
}

/**
 * `cam`: the app's cam.run in-process - the same checks and set-up (planCam), the same batches - with
 * each input's files written as they are made, as an export from the app writes them. Exit 0 when
 * every input succeeded.
 */
export async function camCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      images: { type: 'string', multiple: true },
      out: { type: 'string' },
      layer: { type: 'string' },
      method: { type: 'string' },
      target: { type: 'string' },
      batch: { type: 'string' },
      labels: { type: 'string' },
      colormap: { type: 'string' },
      alpha: { type: 'string' },
      ...PREPROCESS_OPTIONS,
      threads: { type: 'string' },
      steps: { type: 'string' },
      integration: { type: 'string' },
      baseline: { type: 'string' },
      'baseline-image': { type: 'string' },
      samples: { type: 'string' },
      noise: { type: 'string' },
      seed: { type: 'string' },
      window: { type: 'string' },
      stride: { type: 'string' },
      masks: { type: 'string' },
      'cell-size': { type: 'string' },
      keep: { type: 'string' }
    },
    allowPositionals: true,
    strict: true
  })
  // `--images a b c`: parseArgs takes one value per flag; the rest arrive as positionals.
  const imagePaths = [...(v.images ?? []), ...positionals]
  if (!imagePaths.length) throw new ApiError('invalid-arguments', '--images needs at least one image file, folder or .npy tensor.')
  if (!v.out) throw new ApiError('invalid-arguments', '--out DIR is required.')
  const settings = parseWith(
    CamRunSettings,
    given({
      method: v.method,
      layer: v.layer,
      // A similarity reference is a file: relative to the working directory, as --images.
      target: v.target?.startsWith('similarity:') ? `similarity:${resolve(v.target.slice('similarity:'.length))}` : v.target,
      batch: num(v.batch),
      ...preprocessFlags(v),
      threads: num(v.threads),
      steps: num(v.steps),
      integration: v.integration,
      baseline: v.baseline,
      baselineImage: v['baseline-image'] === undefined ? undefined : resolve(v['baseline-image']),
      samples: num(v.samples),
      noise: num(v.noise),
      seed: num(v.seed),
      window: num(v.window),
      stride: num(v.stride),
      masks: num(v.masks),
      cellSize: num(v['cell-size']),
      keep: num(v.keep)
    }),
    'cam settings'
  )
  const rendering = parseWith(Rendering, given({ colormap: v.colormap, alpha: num(v.alpha) }), 'cam rendering')

  const { inputs, failed } = await collectInputs(imagePaths.map((p) => resolve(p)))
  const { target, runner, preprocess } = await planCam(await openModel(v.model, v.labels), inputs.map((i) => i.path), settings)
  const { method } = settings
  const records: CamRecord[] = failed.map((f) => ({ file: f.file, stem: '', ok: false, kind: 'image', error: f.error, method, layer: runner.layer }))
  let lines: Awaited<ReturnType<typeof openNewFile>> | null = null
  let dir = ''
  try {
    dir = await prepareOutputDir(v.out, 'dir')
    lines = await openNewFile(join(dir, 'results.jsonl'))
    for (const r of records) {
      await lines.write(JSON.stringify(r) + '\n')
      process.stderr.write(`error: ${r.ok ? '' : r.error.message}\n`)
    }
    await runCamBatches({
      runner,
      inputs,
      preprocess,
      target,
      batch: settings.batch,
      onOutcome: async (o, done) => {
        const record = toRecord(o, runner.layer, method, runner.provider, methodParams(method, settings))
        if (o.ok && record.ok) record.outputs = await writeCamFiles(o, { dir, method, ...rendering, preprocess })
        if (!record.ok) process.stderr.write(`error: ${record.error.message}\n`)
        records.push(record)
        await lines!.write(JSON.stringify(record) + '\n')
        if (process.stderr.isTTY) process.stderr.write(`\r${done}/${inputs.length}`)
      }
    })
  } finally {
    await lines?.close()
    await runner.release()
  }
  await writeFileAtomic(join(dir, 'results.json'), JSON.stringify(records, null, 1) + '\n')
  if (process.stderr.isTTY) process.stderr.write('\n')
  const bad = records.filter((r) => !r.ok).length
  process.stderr.write(`${records.length - bad} of ${records.length} inputs done; results in ${join(dir, 'results.json')}\n`)
  return bad ? 1 : 0
}
