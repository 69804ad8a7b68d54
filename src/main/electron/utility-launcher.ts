import { app, utilityProcess } from 'electron'
import { join } from 'node:path'
import { EngineClient, engineEnv } from '../host/engine-client'
import type { EngineToHost } from '../host/protocol'

/**
 * Starts the engine in an Electron utilityProcess. Messages travel over its parentPort (a
 * MessagePortMain), so heavy compute and onnxruntime never run on the main thread, and a crash in
 * a native addon takes down only the engine (see design.md section 6).
 */
export function launchUtilityEngine(): EngineClient {
  return new EngineClient(() => {
    const child = utilityProcess.fork(join(__dirname, 'engine-process.js'), [], {
      serviceName: 'Metascope engine',
      stdio: 'inherit',
      // A packaged app keeps the demo under process.resourcesPath; from a checkout the engine finds resources/.
      env: { ...engineEnv(), ...(app.isPackaged ? { METASCOPE_RESOURCES: join(process.resourcesPath, 'resources') } : {}) }
    })
    let gone = false
    child.on('exit', () => (gone = true))
    return {
      send: (msg, onFailed) => {
        // postMessage to a process that has exited throws; the exit event then fails the other calls.
        if (gone || child.pid === undefined) return onFailed(new Error('the engine process has exited'))
        try {
          child.postMessage(msg)
        } catch (err) {
          onFailed(err as Error)
        }
      },
      onMessage: (fn) => child.on('message', (m: EngineToHost) => fn(m)),
      onExit: (fn) => child.on('exit', (code) => fn(code)),
      kill: () => void child.kill(),
      pid: child.pid
    }
  })
}
