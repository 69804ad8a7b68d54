import { fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { EngineClient, engineEnv } from './engine-client'
import type { EngineToHost } from './protocol'

/**
 * Starts the engine in a Node child process (browser mode). From sources (tsx) it forks the .ts entry
 * with tsx's loader; from a build it forks the bundled engine-process.js beside this file.
 */
export function launchChildEngine(): EngineClient {
  const fromSource = __filename.endsWith('.ts')
  const entry = fromSource ? join(__dirname, 'engine-process.ts') : join(__dirname, 'engine-process.js')
  if (!existsSync(entry)) throw new Error(`engine entry not found: ${entry}`)
  return new EngineClient(() => {
    const child = fork(entry, [], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: engineEnv()
    })
    return {
      send: (msg) => child.send(msg),
      onMessage: (fn) => child.on('message', (m) => fn(m as EngineToHost)),
      onExit: (fn) => child.on('exit', (code, signal) => fn(code, signal)),
      kill: () => child.kill(),
      pid: child.pid
    }
  })
}
