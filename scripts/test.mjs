#!/usr/bin/env node
// `npm test`: typecheck, lint, unit + integration tests, build, end-to-end tests in Chromium.
// Runs every step even after a failure (so one run shows everything that is wrong), then prints one
// closing line "tests: N passed, N failed" counted from vitest's JSON reports (a step that failed
// without a failed test counts as failed: scripts/test-count.mjs), and exits non-zero if any step failed.
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { countResults } from './test-count.mjs'

const root = join(import.meta.dirname, '..')
const results = join(root, 'test-results')
rmSync(results, { recursive: true, force: true })
mkdirSync(results, { recursive: true })
const bin = (name) => join(root, 'node_modules', '.bin', name)

const steps = [
  ['typecheck (node)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.node.json']],
  ['typecheck (renderer)', bin('vue-tsc'), ['--noEmit', '-p', 'tsconfig.web.json']],
  ['lint', bin('eslint'), ['--max-warnings', '0', '.']],
  ['unit + integration', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${join(results, 'unit.json')}`]],
  ['build', bin('electron-vite'), ['build', '--logLevel', 'warn']],
  ['e2e', bin('vitest'), ['run', '-c', 'vitest.e2e.config.mts', '--reporter=default', '--reporter=json', `--outputFile.json=${join(results, 'e2e.json')}`]]
]

const failedSteps = []
const ran = []
for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) failedSteps.push(name)
  const report = args.find((a) => a.startsWith('--outputFile.json='))?.slice('--outputFile.json='.length)
  ran.push({ name, status: r.status ?? 1, report })
}

const { passed, failed } = countResults(ran)
console.log(`\nsteps failed: ${failedSteps.length ? failedSteps.join(', ') : 'none'}`)
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(failedSteps.length || failed || passed === 0 ? 1 : 0)
