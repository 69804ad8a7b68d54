import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { launchChildEngine } from './host/child-launcher'
import { startServer } from './server/http-server'

/**
 * `npm run serve [-- --port N]`: browser mode. The API and the renderer on 127.0.0.1 only; the engine
 * in a child process, as in the desktop app.
 */
function parsePort(argv: string[]): number {
  const i = argv.indexOf('--port')
  if (i < 0) return 0
  const port = Number(argv[i + 1])
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer 0..65535, got ${JSON.stringify(argv[i + 1])}`)
    process.exit(2)
  }
  return port
}

async function main(): Promise<void> {
  const rendererDir = resolve(process.env.METASCOPE_RENDERER_DIR ?? join(__dirname, '../../out/renderer'))
  if (!existsSync(join(rendererDir, 'index.html'))) {
    console.error(`The renderer is not built (${rendererDir}/index.html is missing): run \`npm run build\`.`)
    process.exit(2)
  }
  const engine = launchChildEngine()
  await engine.ready
  const running = await startServer({ engine, rendererDir, port: parsePort(process.argv.slice(2)) })
  console.log(`Metascope is serving on ${running.url}`)
  console.log('Open that URL in a browser on this machine (or through an SSH tunnel). Ctrl+C stops.')
  const stop = () => {
    void running.close().finally(() => {
      engine.close()
      process.exit(0)
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

void main()
