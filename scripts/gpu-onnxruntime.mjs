#!/usr/bin/env node
// `npm run gpu:onnxruntime`: the explicit opt-in for onnxruntime's GPU binaries (on Linux x64: the CUDA
// 12 and TensorRT providers, from api.nuget.org). A plain `npm install` skips them (see .npmrc), so
// installs never depend on that host; this runs onnxruntime-node's own installer when the user asks.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
let pkgDir
try {
  pkgDir = dirname(require.resolve('onnxruntime-node/package.json'))
} catch {
  console.error('onnxruntime-node is not installed: run `npm install` first.')
  process.exit(2)
}
const env = { ...process.env }
// '1' forces the installer (onnxruntime-node 1.30 reads a named flavour such as 'cuda12' as "not set").
// Without npm's own variables it does not take itself for a local development install and stop early,
// and the .npmrc skip does not reach it.
env.ONNXRUNTIME_NODE_INSTALL = '1'
for (const k of Object.keys(env)) if (/^npm_(config_onnxruntime|config_local_prefix|package_json)/i.test(k)) delete env[k]
console.log(`Fetching onnxruntime's GPU binaries for ${process.platform}/${process.arch} (needs access to api.nuget.org)...`)
const r = spawnSync(process.execPath, [join(pkgDir, 'script', 'install.js')], { stdio: 'inherit', env, cwd: pkgDir })
if (r.status !== 0) {
  console.error(`onnxruntime's GPU binaries could not be installed (exit ${r.status}); the CPU build keeps working. Check that api.nuget.org is reachable, and that the machine has CUDA 12 and cuDNN 9.`)
  process.exit(r.status ?? 1)
}
console.log('Done. `npm run -s cli -- info` lists the providers onnxruntime can use now.')
