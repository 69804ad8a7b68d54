import { parseArgs } from 'node:util'
import { inspectModel } from '../engine/model/inspect'
import { openModel } from './cam-command'

/** `inspect`: the model summary and its layer list (every float node output, op, probed shape) as JSON. */
export async function inspectCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, labels: { type: 'string' } }, strict: true })
  process.stdout.write(JSON.stringify(inspectModel(await openModel(values.model, values.labels))) + '\n')
  return 0
}
