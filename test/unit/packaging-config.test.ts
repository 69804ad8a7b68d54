import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs script without types
import { networkFailure } from '../../scripts/dist.mjs'
import { ROOT } from '../helpers'

/**
 * The installers' configuration (electron-builder.json), checked with electron-builder's own code:
 * its schema validator, and its file matchers for what goes into each platform's package. Nothing here
 * builds an installer (that needs Electron's distribution for each platform: README, "Install the
 * desktop app").
 */
const require = createRequire(import.meta.url)
type Config = Record<string, unknown> & {
  files: string[]
  asarUnpack: string[]
  extraResources: { from: string; to: string }[]
  electronFuses: Record<string, boolean>
  linux: { target: { target: string; arch: string[] }[] }
  win: { target: { target: string; arch: string[] }[] }
  mac: { target: { target: string; arch: string[] }[] }
}
const config = JSON.parse(readFileSync(join(ROOT, 'electron-builder.json'), 'utf8')) as Config
const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean }): Promise<void>
}
type Filter = (file: string, stat: { isDirectory(): boolean }) => boolean
type Matcher = { createFilter(): Filter }
const { FileMatcher, getMainFileMatchers, getNodeModuleFileMatcher } = require('app-builder-lib/out/fileMatcher') as {
  FileMatcher: new (from: string, to: string, expand: (s: string) => string, patterns?: string[]) => Matcher
  getMainFileMatchers(appDir: string, dest: string, expand: (s: string) => string, platform: unknown, packager: unknown, outDir: string, electronCompile: boolean): Matcher[]
  getNodeModuleFileMatcher(appDir: string, dest: string, expand: (s: string) => string, platform: unknown, packager: unknown): Matcher
}

const file = { isDirectory: () => false }
/** electron-builder's macros in file patterns: ${platform} is the building machine's (installers are built on their own OS). */
const expander = (platform: string, arch: string) => (s: string) => s.replace(/\$\{arch\}/g, arch).replace(/\$\{platform\}/g, platform)
/** Every file under `dir`, relative to ROOT. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [relative(ROOT, join(dir, e.name))]))
}

/** The fuses flipped at package time, as data: what Electron would otherwise allow in the app. */
const FUSES = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  grantFileProtocolExtraPrivileges: false
}

describe('electron-builder.json', () => {
  it("validates against electron-builder's own schema", async () => {
    await expect(validateConfiguration(structuredClone(config), { isEnabled: false })).resolves.toBeUndefined()
    // The validator does refuse a wrong configuration (so the line above can fail).
    await expect(validateConfiguration({ ...structuredClone(config), fuses: {} }, { isEnabled: false })).rejects.toThrow(/unknown property 'fuses'/)
    await expect(validateConfiguration({ ...structuredClone(config), nsis: { oneClik: false } }, { isEnabled: false })).rejects.toThrow(/configuration\.nsis/)
  })

  it('sets the fuses: no ELECTRON_RUN_AS_NODE, NODE_OPTIONS, --inspect or file:// privileges; only the asar, integrity checked', () => {
    expect(config.electronFuses).toEqual(FUSES)
  })

  it('builds AppImage and deb (Linux), NSIS (Windows), dmg for x64 and arm64 (macOS)', () => {
    expect(config.linux.target.map((t) => t.target)).toEqual(['AppImage', 'deb'])
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis'])
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['x64', 'arm64'] }])
    expect(config.appId).toMatch(/^[a-z0-9.]+$/)
    expect(config.productName).toBe('Metascope')
    expect(existsSync(join(ROOT, 'packaging', 'icon.png'))).toBe(true)
  })

  it('ships the demo where the packaged engine looks for it (process.resourcesPath/resources/demo)', () => {
    const demo = config.extraResources.find((r) => r.to === 'resources/demo')
    expect(demo?.from).toBe('resources/demo')
    expect(statSync(join(ROOT, demo!.from, 'fashion_cnn.onnx')).isFile()).toBe(true)
    expect(readFileSync(join(ROOT, 'src/main/electron/utility-launcher.ts'), 'utf8')).toContain("METASCOPE_RESOURCES: join(process.resourcesPath, 'resources')")
  })

  it("unpacks onnxruntime-node's and sharp's native files from the asar, and nothing of the app's own code", () => {
    const unpack = new FileMatcher(ROOT, '/app', (s) => s, config.asarUnpack).createFilter()
    const native = [...walk(join(ROOT, 'node_modules/onnxruntime-node/bin')), ...walk(join(ROOT, 'node_modules/@img'))].filter((f) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(f))
    expect(native.length).toBeGreaterThan(4)
    for (const f of native) expect(unpack(join(ROOT, f), file), f).toBe(true)
    expect(unpack(join(ROOT, 'out/main/index.js'), file)).toBe(false)
  })

  it('packs the built app and its production modules, not the repository (no platform section replaces the file list)', () => {
    for (const platform of ['linux', 'win', 'mac'] as const) expect(config[platform]).not.toHaveProperty('files')
    const packager = { info: { projectDir: ROOT, buildResourcesDir: 'packaging', config, isPrepackedAppAsar: false, debugLogger: { isEnabled: false } } }
    const [main] = getMainFileMatchers(ROOT, '/app', expander('linux', 'x64'), config.linux, packager, join(ROOT, 'dist'), false)
    const keep = main.createFilter()
    for (const f of ['out/main/index.js', 'out/renderer/index.html', 'package.json']) expect(keep(join(ROOT, f), file), f).toBe(true)
    for (const f of ['src/main/electron/main.ts', 'test/fixtures/x.onnx', 'bench/results/a.json', 'resources/demo/fashion_cnn.onnx', 'out/main/index.js.map', 'packaging/icon.png']) {
      expect(keep(join(ROOT, f), file), f).toBe(false)
    }
  })

  it.each([
    ['linux', 'linux', 'x64'],
    ['linux', 'linux', 'arm64'],
    ['win', 'win32', 'x64'],
    ['mac', 'darwin', 'arm64']
  ] as const)("keeps only %s's own onnxruntime binaries (%s-%s), no GPU providers, no tfjs-node-gpu", (platform, os, arch) => {
    const matcher = getNodeModuleFileMatcher(ROOT, '/app', expander(os, arch), config[platform], { config, debugLogger: { isEnabled: false } })
    const keep = matcher.createFilter()
    const ort = walk(join(ROOT, 'node_modules/onnxruntime-node/bin'))
    const kept = ort.filter((f) => keep(join(ROOT, f), file))
    expect(kept.length).toBeGreaterThan(0)
    for (const f of kept) expect(f, f).toMatch(new RegExp(`/napi-v\\d+/${os}/${arch}/`))
    expect(ort.filter((f) => f.includes(`/${os}/${arch}/`)).every((f) => keep(join(ROOT, f), file))).toBe(true)
    expect(keep(join(ROOT, `node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/libonnxruntime_providers_cuda.so`), file)).toBe(false)
    expect(keep(join(ROOT, 'node_modules/@tensorflow/tfjs-node-gpu/package.json'), file)).toBe(false)
    expect(keep(join(ROOT, 'node_modules/sharp/package.json'), file)).toBe(true)
    expect(keep(join(ROOT, 'node_modules/onnxruntime-node/dist/index.js'), file)).toBe(true)
  })

  it('knows that onnxruntime-node ships no macOS x64 binary (the x64 dmg cannot open models: README)', () => {
    const darwin = readdirSync(join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/darwin'))
    expect(darwin).toEqual(['arm64'])
  })

  it('has one npm script per installer', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
    expect(scripts['dist:linux']).toBe('node scripts/dist.mjs --linux')
    expect(scripts['dist:win']).toBe('node scripts/dist.mjs --win')
    expect(scripts['dist:mac']).toBe('node scripts/dist.mjs --mac')
  })

  it('an offline build says in one line that the Electron download failed and what to do, instead of a stack trace', () => {
    const fail = networkFailure as (output: string) => string | null
    const offline = '  • packaging       platform=linux arch=x64\n  ⨯ getaddrinfo ENOTFOUND github.com  failedTask=build stackTrace=RequestError: getaddrinfo ENOTFOUND github.com\n    at ClientRequest.<anonymous>'
    expect(fail(offline)).toMatch(/download failed \(getaddrinfo ENOTFOUND github.com\)\. Connect to the internet .*-c\.electronDist=DIR/)
    expect(fail('  ⨯ Cannot compute electron version from installed node modules')).toBeNull()
  })
})
