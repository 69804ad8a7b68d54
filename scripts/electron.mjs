#!/usr/bin/env node
// `npm start` / `npm run dev`: make sure Electron's binary is there, then hand over to electron-vite.
// electron >= 42 no longer downloads its binary at install; `require('electron')` fetches it on first
// use, but electron-vite only reads node_modules/electron/path.txt and stops with "Electron uninstall".
// So resolve the binary the way the electron package intends first, and where that is impossible
// (offline), say so in one line and point to the browser mode.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The Electron executable to start: ELECTRON_EXEC_PATH when set, else what the electron package
 * resolves (downloading it on first use). Returns { path } or { error } with the line to print.
 */
export function resolveElectron(env = process.env, load = installedElectron) {
  const fallback = 'or use `npm run serve` for the same UI in your browser.'
  if (env.ELECTRON_EXEC_PATH) {
    if (existsSync(env.ELECTRON_EXEC_PATH)) return { path: env.ELECTRON_EXEC_PATH }
    return { error: `ELECTRON_EXEC_PATH is ${env.ELECTRON_EXEC_PATH}, which does not exist: point it at an Electron binary, ${fallback}` }
  }
  let path
  try {
    path = load()
  } catch (err) {
    const reason = String(err?.message ?? err).split('\n')[0]
    return { error: `The desktop app needs Electron's binary, which is downloaded on first start, and the download failed (${reason}). Connect to the internet and start again, ${fallback}` }
  }
  if (typeof path !== 'string' || !existsSync(path)) {
    return { error: `Electron's binary is not installed (expected ${path}). Connect to the internet and start again, ${fallback}` }
  }
  return { path }
}

/**
 * What `require('electron')` does (path.txt names the binary under dist/; download it when missing),
 * but with the download's output captured, so a failure becomes our one line instead of a stack trace.
 */
function installedElectron() {
  const dir = dirname(createRequire(join(root, 'package.json')).resolve('electron'))
  const binary = () => {
    const pathFile = join(dir, 'path.txt')
    return existsSync(pathFile) ? join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null
  }
  const found = binary()
  if (found && existsSync(found)) return found
  process.stderr.write('Downloading Electron (first start only)...\n')
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], { encoding: 'utf8' })
  if (r.status !== 0) {
    const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at '))
    throw new Error(lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `install.js exited ${r.status}`)
  }
  return binary()
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const found = resolveElectron()
  if (found.error) {
    process.stderr.write(`error: ${found.error}\n`)
    process.exit(1)
  }
  const bin = join(root, 'node_modules', '.bin', 'electron-vite')
  const r = spawnSync(bin, process.argv.slice(2), { stdio: 'inherit', env: { ...process.env, ELECTRON_EXEC_PATH: found.path } })
  process.exit(r.status ?? 1)
}
