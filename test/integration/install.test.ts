import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers'

/**
 * Safety round 2, item 11: `npm install` as the README gives it must not depend on onnxruntime's
 * download host. onnxruntime-node's install script fetches CUDA binaries from api.nuget.org on Linux
 * x64; where that host is unreachable the script fails and npm removes node_modules, where it is
 * reachable it downloads hundreds of MB nobody asked for. npm 10 runs every install script, and
 * npm 11 does when scripts are allowed, so this forces the script to run (from npm's own cache, no
 * network) and checks that the project's configuration makes it skip: the install succeeds and no
 * GPU binary arrives. GPU binaries are the explicit `npm run gpu:onnxruntime`.
 */
type LockEntry = { version: string; dependencies?: Record<string, string>; [k: string]: unknown }

/** The lockfile entries of `name` and everything it depends on (nested copies included). */
function subtree(packages: Record<string, LockEntry>, name: string): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {}
  const visit = (key: string) => {
    if (out[key]) return
    out[key] = packages[key]
    for (const dep of Object.keys(packages[key].dependencies ?? {})) {
      // Node's resolution: a copy nested under this package, else the top-level one.
      const nested = `${key}/node_modules/${dep}`
      visit(packages[nested] ? nested : `node_modules/${dep}`)
    }
  }
  visit(`node_modules/${name}`)
  return out
}

const npmMajor = Number(spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.split('.')[0])

describe('npm install and onnxruntime-node', () => {
  it('with install scripts running, onnxruntime-node installs from the cache and fetches no GPU binaries', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
    const ort = lock.packages['node_modules/onnxruntime-node']
    const project = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
    const dir = tempDir('metascope-install-')
    const pkg = { name: 'ort-install-check', version: '1.0.0', private: true, dependencies: { 'onnxruntime-node': ort.version }, allowScripts: project.allowScripts }
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: pkg.name, version: '1.0.0', dependencies: pkg.dependencies }, ...subtree(lock.packages, 'onnxruntime-node') } }, null, 2))
    if (existsSync(join(ROOT, '.npmrc'))) copyFileSync(join(ROOT, '.npmrc'), join(dir, '.npmrc'))
    // npm 10 runs install scripts anyway; npm 11 only when told to, as a user with scripts allowed has.
    const force = npmMajor >= 11 ? ['--dangerously-allow-all-scripts'] : []
    const env = { ...process.env }
    for (const k of Object.keys(env)) if (/^npm_config_|^ONNXRUNTIME_NODE_INSTALL/i.test(k)) delete env[k]
    const r = spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', ...force], { cwd: dir, env, encoding: 'utf8', timeout: 240_000 })
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
    const bin = join(dir, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch)
    expect(existsSync(bin)).toBe(true)
    expect(readdirSync(bin).filter((f) => /providers_(cuda|tensorrt)/.test(f))).toEqual([])
    // The CPU build that ships in the package works.
    const check = spawnSync(process.execPath, ['-e', "require('onnxruntime-node').listSupportedBackends().some((b) => b.name === 'cpu') || process.exit(3)"], { cwd: dir, encoding: 'utf8' })
    expect(check.status, check.stderr).toBe(0)
  }, 300_000)

  it('package.json says the Node.js the README says (20.19+), and declares onnxruntime-node\'s script denied', () => {
    const project = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; allowScripts: Record<string, boolean> }
    expect(project.engines.node).toBe('>=20.19.0')
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/Node\.js 20\.19 or newer/)
    expect(project.allowScripts['onnxruntime-node']).toBe(false)
  })
})
