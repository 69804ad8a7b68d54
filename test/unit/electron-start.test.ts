import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers'
// @ts-expect-error plain ESM script without types
import { resolveElectron } from '../../scripts/electron.mjs'

type Found = { path?: string; error?: string }
const resolve = resolveElectron as (env: Record<string, string | undefined>, load?: () => string) => Found
const script = join(ROOT, 'scripts', 'electron.mjs')

/**
 * `npm start` / `npm run dev` go through scripts/electron.mjs: the Electron binary is resolved (and
 * downloaded on first use) before electron-vite runs; offline, one clear line points to `npm run serve`.
 * No Electron binary can be downloaded here, so stand-ins play it.
 */
describe('desktop start-up', () => {
  it('uses ELECTRON_EXEC_PATH when it exists, and says when it does not', () => {
    expect(resolve({ ELECTRON_EXEC_PATH: process.execPath })).toEqual({ path: process.execPath })
    const missing = resolve({ ELECTRON_EXEC_PATH: '/nowhere/electron' })
    expect(missing.error).toMatch(/ELECTRON_EXEC_PATH is \/nowhere\/electron, which does not exist.*npm run serve/)
  })

  it('takes the path the electron package resolves, and turns a failed download into one line', () => {
    expect(resolve({}, () => process.execPath)).toEqual({ path: process.execPath })
    const offline = resolve({}, () => {
      throw new Error('TypeError: fetch failed\n    at download (x.js:1:1)')
    })
    expect(offline.error).toMatch(/^The desktop app needs Electron's binary, .* download failed \(TypeError: fetch failed\)\. .*npm run serve/)
    expect(offline.error).not.toContain('\n')
  })

  it('runs electron-vite with the resolved binary, or exits 1 with the line', () => {
    const ok = spawnSync(process.execPath, [script, '--version'], { encoding: 'utf8', env: { ...process.env, ELECTRON_EXEC_PATH: process.execPath } })
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(/\d+\.\d+\.\d+/)
    const bad = spawnSync(process.execPath, [script, 'preview'], { encoding: 'utf8', env: { ...process.env, ELECTRON_EXEC_PATH: '/nowhere/electron' } })
    expect(bad.status).toBe(1)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/^error: .*npm run serve/)
  })
})
