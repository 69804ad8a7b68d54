import { ApiError, toErrorShape } from '../../shared/errors'
import { Service } from '../service'
import type { EngineToHost, HostToEngine } from './protocol'

/**
 * Entry point of the engine process. The same file runs as an Electron utilityProcess (messages on
 * process.parentPort) or as a Node child process (messages on process.send/'message').
 */
type ParentPort = { on(ev: 'message', fn: (e: { data: HostToEngine }) => void): void; postMessage(m: EngineToHost): void }
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort

const send: (m: EngineToHost) => void = parentPort
  ? (m) => parentPort.postMessage(m)
  : (m) => {
      process.send?.(m)
    }

const service = new Service((event) => send({ kind: 'event', event }))

async function answer(msg: HostToEngine): Promise<unknown> {
  switch (msg.kind) {
    case 'call':
      return service.call(msg.method, msg.args)
    case 'image-path':
      return service.imageFile(msg.imageId)
    case 'download-path':
      return service.downloadPath(msg.downloadId)
    case 'thumbnail':
      return service.thumbnail(msg.imageId, msg.size)
    default:
      throw new ApiError('unknown-method', `Unknown engine message ${JSON.stringify((msg as { kind?: unknown }).kind)}.`)
  }
}

async function handle(msg: HostToEngine): Promise<void> {
  try {
    const value = await answer(msg)
    send({ kind: 'reply', id: msg.id, ok: true, value })
  } catch (err) {
    send({ kind: 'reply', id: msg.id, ok: false, error: toErrorShape(err) })
  }
}

if (parentPort) parentPort.on('message', (e) => void handle(e.data))
else process.on('message', (m: HostToEngine) => void handle(m))
// A host that went away leaves nothing to serve: exit rather than linger as an orphan.
process.on('disconnect', () => process.exit(0))
send({ kind: 'ready' })
