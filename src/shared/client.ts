import type { ArgsOf, MethodName, ResultOf } from './api'
import type { ApiEvent } from './events'

/**
 * The interface the renderer is written against (our Netron-style Host): the Electron preload and the
 * browser-mode HTTP client both implement it, so no component knows which transport it runs on.
 */
export interface MetascopeApi {
  call<M extends MethodName>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>>
  onEvent(listener: (event: ApiEvent) => void): () => void
  /** A URL the renderer may put in <img src> for an image the user added. */
  imageUrl(imageId: string): string
  /** Which transport is active, for the status bar. */
  readonly transport: 'electron' | 'browser'
  /** Desktop only: a native file dialog. */
  pick?(kind: 'model' | 'images' | 'folder' | 'labels'): Promise<string[]>
  /** Desktop only: the path of a dropped File. */
  pathForFile?(file: File): string
  /** Desktop only: commands from the application menu (File > Open…). */
  onCommand?(listener: (command: HostCommand) => void): () => void
}

export type HostCommand = { command: 'open-paths'; kind: 'model' | 'images' | 'folder' | 'labels'; paths: string[] }
