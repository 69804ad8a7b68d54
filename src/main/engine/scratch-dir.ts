import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Per-process scratch folders in the OS temp folder, named `metascope-<kind>-<pid>-<random>`, removed
 * when the process exits, also on SIGTERM / SIGINT / SIGHUP. A SIGKILL leaves no chance to clean up, so
 * every new process first sweeps the folders of processes that are no longer alive.
 */
const owned = new Set<string>()
let hooked = false

function cleanup(): void {
  for (const dir of owned) rmSync(dir, { recursive: true, force: true })
  owned.clear()
}

function hook(): void {
  if (hooked) return
  hooked = true
  process.once('exit', cleanup)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanup()
      // Default behaviour after our cleanup: end with the conventional signal status.
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[signal])
    })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: alive, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes `metascope-<kind>-<pid>-*` folders whose process is gone (any kind when `kind` is '*');
 * returns what it removed.
 */
export function sweepStaleScratch(kind: string, parent = tmpdir()): string[] {
  const pattern = new RegExp(`^metascope-${kind === '*' ? '[a-z]+' : kind}-(\\d+)-`)
  const removed: string[] = []
  let entries: string[]
  try {
    entries = readdirSync(parent)
  } catch {
    return removed
  }
  for (const name of entries) {
    const m = pattern.exec(name)
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue
    rmSync(join(parent, name), { recursive: true, force: true })
    removed.push(name)
  }
  return removed
}

/** A fresh scratch folder of this process (after sweeping dead processes' folders of the same kind). */
export function scratchDir(kind: string, parent = tmpdir()): string {
  sweepStaleScratch(kind, parent)
  const dir = mkdtempSync(join(parent, `metascope-${kind}-${process.pid}-`))
  owned.add(dir)
  hook()
  return dir
}

/** Forgets and removes one scratch folder (a store that closes before the process ends). */
export function releaseScratch(dir: string): void {
  owned.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}
