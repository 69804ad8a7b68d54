import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import * as vue from 'vue'
import { createSSRApp, reactive, type Component } from 'vue'
import { compileScript, parse } from 'vue/compiler-sfc'
import { renderToString } from 'vue/server-renderer'
import { backendInfo } from '../../src/main/engine/backends'
import type { AppInfo, BackendInfo } from '../../src/shared/api'
import { ROOT } from '../helpers'

/**
 * Issue #20: the header names the compute provider that runs jobs and nothing alarming about
 * optional packages (which backend TensorFlow.js used is said by the conversion check). The real component
 * (BackendStatus.vue, compiled here with Vue's own SFC compiler, since the unit suite has no Vue plugin)
 * rendered by Vue's server renderer with the engine's real backend report from this machine.
 */

const FILE = `${ROOT}/src/renderer/src/components/BackendStatus.vue`

/** The component with its store and i18n replaced by plain values (they need a browser). */
function loadComponent(info: AppInfo): Component {
  const { descriptor } = parse(readFileSync(FILE, 'utf8'), { filename: FILE })
  const script = compileScript(descriptor, { id: 'backend-status', inlineTemplate: true })
  const js = ts.transpileModule(script.content, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText
  const store = reactive({ info, error: null, transport: 'browser' })
  const modules: Record<string, unknown> = {
    vue,
    'vue-i18n': { useI18n: () => ({ t: (key: string) => key }) },
    '../stores/app': { useAppStore: () => store }
  }
  const mod = { exports: {} as { default: Component } }
  const load = (name: string) => {
    if (!(name in modules)) throw new Error(`BackendStatus.vue imports ${name}; add it to this test's module table`)
    return modules[name]
  }
  new Function('require', 'module', 'exports', js)(load, mod, mod.exports)
  return mod.exports.default
}

const appInfo = (backends: BackendInfo): AppInfo => ({
  name: 'metascope',
  version: '0',
  node: process.version,
  electron: null,
  platform: process.platform,
  arch: process.arch,
  libraries: {},
  backends
})

/** The text of the element with a data-testid, or null when it is not rendered. */
function byTestId(html: string, id: string): string | null {
  const m = new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)
  return m ? m[1].replace(/&#39;/g, "'").replace(/&amp;/g, '&') : null
}

describe('the header shows the provider that runs jobs, nothing about optional packages', () => {
  it('on this machine: the onnxruntime provider and the transport, no TensorFlow.js chips', async () => {
    const backends = await backendInfo()
    // app.info does not load TensorFlow.js (it computes no job); it says so.
    expect(backends.tfjs).toMatchObject({ backend: null, reason: expect.stringMatching(/not loaded/) })
    const html = await renderToString(createSSRApp(loadComponent(appInfo(backends))))
    expect(byTestId(html, 'backend-ort')).toMatch(/^onnxruntime [\d.]+ · cpu/)
    // The visible text; the provider chip's tooltip may name GPU providers one can add.
    expect(html.replace(/<[^>]*>/g, ' ')).not.toMatch(/tfjs|not installed|TensorFlow/)
  })

  it('whatever tfjs reports, the header stays quiet about it', async () => {
    const reason = 'tfjs-node-gpu not installed; tfjs-node not installed; using the pure-JS cpu backend (small models only)'
    const backends: BackendInfo = { onnxruntime: { version: '1.0', available: ['cpu'], inUse: ['cpu'] }, tfjs: { version: '4.22.0', backend: 'cpu', reason } }
    const html = await renderToString(createSSRApp(loadComponent(appInfo(backends))))
    expect(byTestId(html, 'backend-ort')).toBe('onnxruntime 1.0 · cpu')
    expect(html).not.toMatch(/tfjs|pure-JS/)
  })
})
