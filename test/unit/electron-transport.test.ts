import { reactive } from 'vue'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * The renderer's Electron transport (src/renderer/src/api/electron-transport.ts), loaded at run time
 * (tsconfig.node.json does not list renderer files). The fake bridge copies its arguments with
 * structuredClone, as Electron's IPC does: that throws on Vue's reactive proxies, which stores hand out.
 */
type Bridge = {
  call(method: string, args: unknown): Promise<unknown>
  onEvent(l: (e: unknown) => void): () => void
  onCommand(l: (c: unknown) => void): () => void
  pick(kind: string): Promise<string[]>
  pathForFile(f: unknown): string
}
type Transport = { electronApi(b: Bridge): { call(method: string, args: unknown): Promise<unknown>; downloadUrl?(id: string): string } }
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'api', 'electron-transport.ts'].join('/')
let t: Transport

beforeAll(async () => {
  ;(globalThis as { location?: unknown }).location ??= { protocol: 'metascope:' }
  t = (await import(/* @vite-ignore */ modulePath)) as Transport
})

function ipcLikeBridge(seen: unknown[]): Bridge {
  return {
    call: async (_method, args) => {
      seen.push(structuredClone(args))
      return { ok: true, value: 'done' }
    },
    onEvent: () => () => {},
    onCommand: () => () => {},
    pick: async () => [],
    pathForFile: () => ''
  }
}

describe('Electron transport', () => {
  it('sends reactive store state as plain data (structured clone refuses proxies)', async () => {
    const state = reactive({ runs: [{ id: 'r1', items: [{ ok: false, error: { code: 'bad-file', message: 'unreadable' } }] }] })
    expect(() => structuredClone(state)).toThrow()
    const seen: unknown[] = []
    const api = t.electronApi(ipcLikeBridge(seen))
    await expect(api.call('workspace.save', { dir: '/tmp/w', workspace: state })).resolves.toBe('done')
    expect(seen[0]).toEqual({ dir: '/tmp/w', workspace: { runs: [{ id: 'r1', items: [{ ok: false, error: { code: 'bad-file', message: 'unreadable' } }] }] } })
  })

  it('a call without arguments stays without arguments', async () => {
    const seen: unknown[] = []
    await t.electronApi(ipcLikeBridge(seen)).call('app.info', undefined)
    expect(seen).toEqual([undefined])
  })

  it('downloads a job\'s file from the app scheme, which the main process saves with a dialog', () => {
    const api = t.electronApi(ipcLikeBridge([]))
    expect(api.downloadUrl?.('d/1')).toBe('/downloads/d%2F1')
  })
})
