import { toErrorShape } from '../shared/errors'
import { Service } from './service'

/**
 * `npm run -s cli -- <command>`. The CLI runs the engine in-process: it is already a separate process
 * from any UI, and it prints machine-readable JSON on stdout, diagnostics on stderr.
 */
const USAGE = `usage: metascope <command>
commands:
  info      print app, library and compute-backend information as one JSON object`

async function main(argv: string[]): Promise<number> {
  const [command] = argv
  const service = new Service(() => {})
  switch (command) {
    case 'info':
      process.stdout.write(JSON.stringify(await service.info()) + '\n')
      return 0
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n')
      return command === undefined ? 2 : 0
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toErrorShape(err)
    process.stderr.write(`error: ${e.message}\n`)
    process.exit(1)
  }
)
