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
    // A send that races the child's death is reported here (EPIPE, ERR_IPC_CHANNEL_CLOSED) when it has
    // no callback; unhandled, that 'error' event would end the whole server. The exit event follows.
    child.on('error', () => {})
    return {
      send: (msg, onFailed) => {
        if (!child.connected) return onFailed(new Error('the engine process has exited'))
        try {
          child.send(msg, (err) => {
            if (err) onFailed(err)
          })
        } catch (err) {
          onFailed(err as Error)
        }
      },
      onMessage: (fn) => child.on('message', (m) => fn(m as EngineToHost)),
      onExit: (fn) => child.on('exit', (code, signal) => fn(code, signal)),
      kill: () => void child.kill(),
      pid: child.pid
    }
  })
}
