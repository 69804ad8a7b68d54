#!/usr/bin/env node
// `npm run dist:linux|win|mac`: build, then package with electron-builder. electron-builder downloads
// Electron's distribution for the target (from github.com) on first use; offline that fails with a
// stack trace, so its output is kept and a network failure becomes one line that says what to do.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const platform = process.argv[2]

/** The one line for an electron-builder failure, or null when it is not a download that failed. */
export function networkFailure(output) {
  const m = /(getaddrinfo (?:ENOTFOUND|EAI_AGAIN) \S+|ECONNREFUSED|ECONNRESET|ETIMEDOUT|fetch failed)/.exec(output)
  if (!m) return null
  return (
    `electron-builder needs Electron's distribution for the target, which it downloads on first use, and the download failed (${m[1]}). ` +
    'Connect to the internet and run it again, or point it at an unpacked Electron with `-c.electronDist=DIR` (see README, "Install the desktop app").'
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!['--linux', '--win', '--mac'].includes(platform)) {
    console.error('usage: node scripts/dist.mjs --linux|--win|--mac [electron-builder options]')
    process.exit(2)
  }
  const build = spawnSync(bin('electron-vite'), ['build'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) process.exit(build.status ?? 1)
  const r = spawnSync(bin('electron-builder'), [platform, '--publish', 'never', ...process.argv.slice(3)], { cwd: root, encoding: 'utf8' })
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`
  const line = r.status === 0 ? null : networkFailure(output)
  if (line) {
    // Its progress lines, then ours instead of the stack trace.
    process.stdout.write(output.split('\n').filter((l) => !/^\s+at |stackTrace=/.test(l) && !/⨯/.test(l)).join('\n'))
    console.error(`\nerror: ${line}`)
  } else process.stdout.write(output)
  process.exit(r.status ?? 1)
}
