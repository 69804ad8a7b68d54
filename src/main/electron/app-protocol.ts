import { protocol } from 'electron'
import type { EngineClient } from '../host/engine-client'
import { createAppHandler } from './app-handler'
import { APP_SCHEME, APP_SCHEME_PRIVILEGES } from './window-options'

/** Must run before app 'ready' (see APP_SCHEME_PRIVILEGES). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }])
}

/** Serves metascope://app/ (see app-handler.ts) from the built renderer and the engine. */
export function handleAppScheme(rendererDir: string, engine: EngineClient, devOrigin: string | null): void {
  protocol.handle(APP_SCHEME, createAppHandler({ rendererDir, engine, devOrigin }))
}
