import { parseArgs } from 'node:util'
import { conversionAgrees, type ConversionCheck, type ImagesAddResult, type ModelSummary } from '../../shared/api'
import { ApiError } from '../../shared/errors'
import { cliService } from './service-job'

export const CHECK_USAGE = `check --model M.json [--images PATH...]
            the conversion check of a TensorFlow.js model: TensorFlow.js's own output against the converted
            graph on 8 probe inputs (or on the images given); prints one JSON line, exit 1 if they differ`

/**
 * `check`: runs the same models.checkConversion the model panel runs, through the service in-process;
 * the CLI only parses its flags and prints the result.
 */
export async function checkCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, images: { type: 'string', multiple: true } }, strict: true })
  if (!values.model) throw new ApiError('invalid-arguments', '--model M.json is required.')
  const { call, job } = cliService()
  const model = (await call('models.open', { path: values.model })) as ModelSummary
  let imageIds: string[] | undefined
  if (values.images?.length) {
    const added = (await call('images.add', { paths: values.images })) as ImagesAddResult
    for (const f of added.failed) process.stderr.write(`skipped ${f.file}: ${f.error.message}\n`)
    imageIds = added.added.slice(0, 64).map((a) => a.id)
  }
  const r = (await job('models.checkConversion', { modelId: model.id, ...(imageIds?.length ? { imageIds } : {}) })) as ConversionCheck
  const agrees = conversionAgrees(r)
  process.stdout.write(JSON.stringify({ model: model.path, format: model.format, agrees, ...r }) + '\n')
  return agrees ? 0 : 1
}
