import { describe, expect, it } from 'vitest'
import type { ApiEvent } from '../../src/shared/events'
import { EngineClient, type EngineChannel } from '../../src/main/host/engine-client'
import type { EngineToHost, HostToEngine } from '../../src/main/host/protocol'

/** An in-memory engine: answers calls with their method name, and can be made to die. */
function fakeEngines() {
  const launched: { die(code: number): void; sent: HostToEngine[] }[] = []
  const launch = (): EngineChannel => {
    let onMessage: (m: EngineToHost) => void = () => {}
    let onExit: (c: number | null) => void = () => {}
    const sent: HostToEngine[] = []
    launched.push({ die: (code) => onExit(code), sent })
    queueMicrotask(() => onMessage({ kind: 'ready' }))
    return {
      send: (msg) => {
        sent.push(msg)
        if (msg.kind === 'call' && msg.method !== 'hang') queueMicrotask(() => onMessage({ kind: 'reply', id: msg.id, ok: true, value: msg.method }))
      },
      onMessage: (fn) => (onMessage = fn),
      onExit: (fn) => (onExit = fn),
      kill: () => {}
    }
  }
  return { launch, launched }
}

describe('EngineClient supervision', () => {
  it('fails pending calls, restarts the engine and tells listeners', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    const events: ApiEvent[] = []
    client.onEvent((e) => events.push(e))
    await client.ready
    const hanging = client.call('hang', {})
    launched[0].die(139)
    await expect(hanging).rejects.toMatchObject({ code: 'engine-unavailable', message: expect.stringContaining('exit code 139') })
    await client.ready
    expect(launched).toHaveLength(2)
    await expect(client.call('app.info', {})).resolves.toBe('app.info')
    await new Promise((r) => setTimeout(r, 0))
    expect(events).toEqual([{ type: 'engine.restarted', ok: true, reason: expect.stringContaining('exit code 139') }])
  })

  it('stops restarting after repeated crashes and says so', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    const events: ApiEvent[] = []
    client.onEvent((e) => events.push(e))
    for (let i = 0; i < 4; i++) {
      await client.ready
      launched.at(-1)!.die(1)
    }
    expect(launched).toHaveLength(4)
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'engine-unavailable', message: expect.stringMatching(/restart Metascope/) })
    expect(events.at(-1)).toMatchObject({ type: 'engine.restarted', ok: false })
  })

  it('does not restart an engine that was closed on purpose', async () => {
    const { launch, launched } = fakeEngines()
    const client = new EngineClient(launch)
    await client.ready
    client.close()
    launched[0].die(0)
    expect(launched).toHaveLength(1)
  })
})
