import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, tempDir } from './paths'

/**
 * `npm run serve` as its own process (node + tsx loader, so the spawned pid is the server itself and
 * its engine is that pid's child), with a stub renderer page: for tests that must see the server
 * process survive, or kill its engine from outside.
 */
export interface ServeProcess {
  proc: ChildProcess
  base: string
  cookie: string
  /** Everything the server printed. */
  log(): string
  /** The engine's pid: the server's one child process (Linux /proc). */
  enginePid(): number | null
  call(method: string, args: unknown): Promise<{ status: number; headers: Headers; body: { ok: boolean; value?: unknown; error?: { code: string; message: string; details?: Record<string, unknown> } } }>
  stop(): Promise<void>
}

export async function startServeProcess(env: Record<string, string> = {}): Promise<ServeProcess> {
  const rendererDir = tempDir()
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Metascope</title>')
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main/serve.ts', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, METASCOPE_RENDERER_DIR: rendererDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  proc.stdout!.on('data', (c: Buffer) => (log += c.toString()))
  proc.stderr!.on('data', (c: Buffer) => (log += c.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60_000)
    const poll = setInterval(() => {
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]+)/.exec(log)
      if (m) {
        clearInterval(poll)
        clearTimeout(timer)
        resolve(m[0])
      }
    }, 20)
    proc.once('exit', (code) => {
      clearInterval(poll)
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${log}`))
    })
  })
  const base = url.slice(0, url.indexOf('/?token'))
  const res = await fetch(url, { redirect: 'manual' })
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]
  return {
    proc,
    base,
    cookie,
    log: () => log,
    enginePid: () => {
      try {
        const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
        return children.length ? Number(children[0]) : null
      } catch {
        return null
      }
    },
    call: async (method, args) => {
      const r = await fetch(`${base}/api/${method}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(args) })
      return { status: r.status, headers: r.headers, body: await r.json() }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
        proc.once('exit', () => resolve())
        proc.kill('SIGTERM')
      })
  }
}
