import { toErrorShape } from '../shared/errors'
import { AUDIT_USAGE, auditCommand } from './cli/audit-command'
import { benchCommand } from './cli/bench-command'
import { CAM_USAGE, camCommand } from './cli/cam-command'
import { FEWSHOT_USAGE, fewshotCommand } from './cli/fewshot-command'
import { cliErrorText } from './cli/flags'
import { inspectCommand } from './cli/inspect-command'
import { CHECK_USAGE, checkCommand } from './cli/check-command'
import { SUGGEST_USAGE, suggestCommand } from './cli/suggest-command'
import { Service } from './service'

/**
 * `npm run -s cli -- <command>`. The CLI runs the engine in-process: it is already a separate process
 * from any UI, and it prints machine-readable JSON on stdout, diagnostics on stderr.
 */
const USAGE = `usage: npm run -s cli -- <command>
commands:
  info      print app, library and compute-backend information as one JSON object
  inspect --model M.onnx [--labels F]
            print the model summary and layer list as JSON
  ${CHECK_USAGE}
  ${SUGGEST_USAGE}
  ${CAM_USAGE}
            write <stem>.cam.npy, <stem>.png and results.json for each input
  bench cam --model M.onnx [--method M] [--layer L] [--batch 8] [--iters N] [--threads N] [--steps N] [--integration R] [--samples N] [--noise F] [--seed N]
            print one JSON line: forward and CAM milliseconds per image
  ${FEWSHOT_USAGE}
  ${AUDIT_USAGE}`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  // `cam --help` and friends: the usage, not an "unknown option" error.
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  switch (command) {
    case 'info':
      process.stdout.write(JSON.stringify(await new Service(() => {}).info()) + '\n')
      return 0
    case 'inspect':
      return inspectCommand(rest)
    case 'check':
      return checkCommand(rest)
    case 'suggest':
      return suggestCommand(rest)
    case 'cam':
      return camCommand(rest)
    case 'bench':
      return benchCommand(rest)
    case 'fewshot':
      return fewshotCommand(rest)
    case 'audit':
      return auditCommand(rest)
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
    // Argument mistakes exit 2 (usage); everything else 1.
    process.stderr.write(`error: ${cliErrorText(e)}\n`)
    process.exit(e.code === 'invalid-arguments' ? 2 : 1)
  }
)
