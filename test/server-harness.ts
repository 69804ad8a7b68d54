import { writeFileSync } from 'node:fs'
import { launchChildEngine } from '../src/main/host/child-launcher'
import type { EngineClient } from '../src/main/host/engine-client'
import { startServer, type RunningServer } from '../src/main/server/http-server'
import { tempDir } from './helpers'

export interface TestServer {
  engine: EngineClient
  server: RunningServer
  /** The auth cookie header value a browser would hold after opening the tokened URL. */
  cookie: string
  close(): Promise<void>
}

/** The real browser-mode server over a real engine child process, with a stub renderer page. */
export async function startTestServer(o: { exchange?: boolean } = {}): Promise<TestServer> {
  const engine = launchChildEngine()
  await engine.ready
  const rendererDir = tempDir()
  writeFileSync(`${rendererDir}/index.html`, '<!doctype html><title>Metascope</title>')
  const server = await startServer({ engine, rendererDir, port: 0 })
  return {
    engine,
    server,
    cookie: o.exchange === false ? '' : await exchangeToken(server),
    close: async () => {
      await server.close()
      engine.close()
    }
  }
}

/** What a browser does with the printed URL: one request with the token, keep the session cookie it sets. */
export async function exchangeToken(server: RunningServer): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.port}/?token=${server.token}`, { redirect: 'manual' })
  const setCookie = res.headers.get('set-cookie') ?? ''
  const pair = setCookie.split(';')[0]
  if (!pair.includes('=')) throw new Error(`no session cookie from the token exchange (status ${res.status})`)
  return pair
}
