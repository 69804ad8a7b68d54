import type { ApiErrorShape } from '../../shared/errors'
import type { ApiEvent } from '../../shared/events'

/**
 * Messages between a host (Electron main or the browser-mode server) and the engine process.
 * Plain structured-clone data only: tensors are copied at this boundary (see design.md section 6).
 */
export type HostToEngine =
  | { kind: 'call'; id: number; method: string; args: unknown }
  /** Answered with { path, format }: an image the user added, and the raster format its bytes decoded as. */
  | { kind: 'image-path'; id: number; imageId: string }
  /** Answered with the path of a file the engine wrote for the user to download (an adapted model). */
  | { kind: 'download-path'; id: number; downloadId: string }
  /** Answered with the thumbnail's bytes (a Uint8Array; both IPC channels structured-clone it). */
  | { kind: 'thumbnail'; id: number; imageId: string; size: number }

export type EngineToHost =
  | { kind: 'ready' }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: ApiErrorShape }
  | { kind: 'event'; event: ApiEvent }
