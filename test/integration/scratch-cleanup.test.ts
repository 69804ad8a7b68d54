import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { launchChildEngine } from '../../src/main/host/child-launcher'
import type { EngineClient } from '../../src/main/host/engine-client'

/** The engine's per-process results folder(s) in the OS temp folder. */
const resultDirs = (pid: number) => readdirSync(tmpdir()).filter((n) => n.startsWith(`metascope-results-${pid}-`)).map((n) => join(tmpdir(), n))

async function untilPidChanges(engine: EngineClient, old: number): Promise<number> {
  for (let i = 0; i < 200 && (!engine.pid || engine.pid === old); i++) await new Promise((r) => setTimeout(r, 50))
  await engine.ready
  return engine.pid!
}

/**
 * The engine keeps computed maps in a temp folder. A SIGTERM removes it on the way out; a SIGKILL
 * cannot, so the next engine sweeps the folders of engines that are no longer alive.
 */
describe('engine scratch folders', () => {
  it('are removed on SIGTERM, and swept by the next engine after a SIGKILL', async () => {
    const engine = launchChildEngine()
    try {
      await engine.ready
      const first = engine.pid!
      const dirs = resultDirs(first)
      expect(dirs).toHaveLength(1)
      process.kill(first, 'SIGTERM')
      const second = await untilPidChanges(engine, first)
      for (let i = 0; i < 40 && existsSync(dirs[0]); i++) await new Promise((r) => setTimeout(r, 50))
      expect(existsSync(dirs[0])).toBe(false)

      const killed = resultDirs(second)
      expect(killed).toHaveLength(1)
      process.kill(second, 'SIGKILL')
      const third = await untilPidChanges(engine, second)
      expect(resultDirs(third)).toHaveLength(1)
      expect(existsSync(killed[0])).toBe(false)
    } finally {
      engine.close()
    }
  })
})
