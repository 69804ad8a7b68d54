import type { MethodName } from '../../../shared/api'
import { clampThumbSize, type HostCommand, type MetascopeApi, type PickKind } from '../../../shared/client'
import { ApiError, type CallResult } from '../../../shared/errors'
import type { ApiEvent } from '../../../shared/events'

/** The shape the preload exposes as window.metascopeBridge (see src/preload/index.ts). */
export interface ElectronBridge {
  call(method: string, args: unknown): Promise<unknown>
  onEvent(listener: (event: unknown) => void): () => void
  onCommand(listener: (command: unknown) => void): () => void
  pick(kind: PickKind): Promise<string[]>
  pathForFile(file: File): string
}

export function electronApi(bridge: ElectronBridge): MetascopeApi {
  // In the packaged app pages come from metascope://app, so a relative URL works; the dev server
  // (http://localhost) needs the absolute scheme URL.
  const base = location.protocol === 'metascope:' ? '/' : 'metascope://app/'
  return {
    transport: 'electron',
    async call(method: MethodName, args: unknown) {
      // Electron's IPC structured-clones its arguments and refuses Vue's reactive proxies (stores hand
      // those out); a JSON round trip sends exactly what the browser transport sends over HTTP.
      const plain = args === undefined ? undefined : (JSON.parse(JSON.stringify(args)) as unknown)
      const result = (await bridge.call(method, plain)) as CallResult<unknown>
      if (!result.ok) throw ApiError.from(result.error)
      return result.value as never
    },
    onEvent: (listener) => bridge.onEvent((e) => listener(e as ApiEvent)),
    imageUrl: (id) => `${base}files/${encodeURIComponent(id)}`,
    thumbUrl: (id, size) => `${base}thumbs/${encodeURIComponent(id)}?size=${clampThumbSize(size)}`,
    // The main process asks where to save it (will-download: a save dialog), as a browser does.
    downloadUrl: (id) => `${base}downloads/${encodeURIComponent(id)}`,
    // uploadFiles stays undefined: desktop has real paths (pathForFile, pick).
    pick: (kind) => bridge.pick(kind),
    pathForFile: (file) => bridge.pathForFile(file),
    onCommand: (listener) => bridge.onCommand((c) => listener(c as HostCommand))
  }
}
