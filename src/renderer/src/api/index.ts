import type { MetascopeApi } from '../../../shared/client'
import { electronApi, type ElectronBridge } from './electron-transport'
import { httpApi } from './http-transport'

/** Chooses the transport once: the Electron preload's bridge when present, else browser mode. */
function createApi(): MetascopeApi {
  const bridge = (window as unknown as { metascopeBridge?: ElectronBridge }).metascopeBridge
  return bridge ? electronApi(bridge) : httpApi()
}

export const api: MetascopeApi = createApi()
