import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CamResultStore } from '../../src/main/engine/cam/result-store'
import { serialized, writeFileAtomic } from '../../src/main/engine/files/safe-write'
import { saveWorkspace } from '../../src/main/engine/workspace'
import { WorkspaceDraft } from '../../src/shared/api'
import { tempDir } from '../helpers'

describe('atomic, serialized saves', () => {
  it('concurrent writes to one file all succeed and leave one complete file, no temporary files', async () => {
    const dir = tempDir()
    const path = join(dir, 'workspace.json')
    const bodies = Array.from({ length: 20 }, (_, i) => JSON.stringify({ save: i, pad: 'x'.repeat(10_000 + i) }))
    await Promise.all(bodies.map((b) => writeFileAtomic(path, b)))
    expect(bodies).toContain(readFileSync(path, 'utf8'))
    // Serialized in call order: the last call's content is the file.
    expect(readFileSync(path, 'utf8')).toBe(bodies.at(-1))
    expect(readdirSync(dir)).toEqual(['workspace.json'])
  })

  it('runs tasks of one key one at a time, in order, and carries on after a failure', async () => {
    const log: string[] = []
    const task = (name: string, fail = false) => async () => {
      log.push(`start ${name}`)
      await new Promise((r) => setTimeout(r, 5))
      log.push(`end ${name}`)
      if (fail) throw new Error(name)
      return name
    }
    const results = await Promise.allSettled([serialized('k', task('a')), serialized('k', task('b', true)), serialized('k', task('c'))])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  })

  it('concurrent workspace saves to one folder both succeed', async () => {
    const dir = tempDir()
    const ws = (n: number) =>
      WorkspaceDraft.parse({
        format: 'metascope-workspace',
        version: 2,
        savedAt: new Date(n).toISOString(),
        model: null,
        images: [],
        settings: { method: 'gradcam', layer: 'auto', target: 'top1', colormap: 'jet', alpha: 0.5, sharedScale: false },
        runs: []
      })
    const store = new CamResultStore()
    await Promise.all([saveWorkspace(dir, ws(1), store), saveWorkspace(dir, ws(2), store), saveWorkspace(dir, ws(3), store)])
    expect(JSON.parse(readFileSync(join(dir, 'workspace.json'), 'utf8')).savedAt).toBe(new Date(3).toISOString())
  })
})
