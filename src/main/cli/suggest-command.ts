import { parseArgs } from 'node:util'
import type { ImagesAddResult, ModelSummary } from '../../shared/api'
import { ApiError } from '../../shared/errors'
import type { PreprocessSuggestion } from '../../shared/preprocess'
import { cliService } from './service-job'

export const SUGGEST_USAGE = `suggest --model M --images PATH... [--resize stretch|center-crop] [--channel-order rgb|bgr]
            score every normalisation (imagenet, unit, symmetric, raw) on the images: accuracy where an
            image's folder names a class, else mean top-1 confidence; prints the model's own statement and
            the table as one JSON line (up to 256 images; nothing is changed)`

/**
 * `suggest`: runs the model panel's "Suggest from my images" (models.suggestPreprocess) through the
 * service in-process; the CLI parses its flags and prints what the model states beside the scores.
 */
export async function suggestCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, images: { type: 'string', multiple: true }, resize: { type: 'string' }, 'channel-order': { type: 'string' } },
    strict: true
  })
  if (!values.model) throw new ApiError('invalid-arguments', '--model M is required.')
  if (!values.images?.length) throw new ApiError('invalid-arguments', '--images PATH is required: the images to score the normalisations on.')
  const { call, job } = cliService()
  const model = (await call('models.open', { path: values.model })) as ModelSummary
  const added = (await call('images.add', { paths: values.images })) as ImagesAddResult
  for (const f of added.failed) process.stderr.write(`skipped ${f.file}: ${f.error.message}\n`)
  const r = (await job('models.suggestPreprocess', {
    modelId: model.id,
    imageIds: added.added.slice(0, 256).map((a) => a.id),
    ...(values.resize ? { resize: values.resize } : {}),
    ...(values['channel-order'] ? { channelOrder: values['channel-order'] } : {})
  })) as PreprocessSuggestion
  const p = model.preprocess
  const stated = { normalization: p.normalization, source: p.source.normalization, ...(p.normalizationLayers ? { layers: p.normalizationLayers } : {}) }
  process.stdout.write(JSON.stringify({ model: model.path, stated, ...r }) + '\n')
  return 0
}
