import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM script without types
import { countResults } from '../../scripts/test-count.mjs'
import { tempDir } from '../helpers'

type Step = { name: string; status: number; report?: string }
const count = countResults as (steps: Step[]) => { passed: number; failed: number }

describe("npm test's closing line", () => {
  const report = (body: object) => {
    const path = join(tempDir(), 'r.json')
    writeFileSync(path, JSON.stringify(body))
    return path
  }

  it('adds up the reports', () => {
    const a = report({ numPassedTests: 10, numFailedTests: 0, numFailedTestSuites: 0 })
    const b = report({ numPassedTests: 3, numFailedTests: 2, numFailedTestSuites: 1 })
    expect(count([{ name: 'unit', status: 0, report: a }, { name: 'e2e', status: 1, report: b }])).toEqual({ passed: 13, failed: 2 })
  })

  it('counts a suite that failed to start (no failed test, or no report at all) as failed', () => {
    const noTests = report({ numPassedTests: 0, numFailedTests: 0, numFailedTestSuites: 1 })
    expect(count([{ name: 'e2e', status: 1, report: noTests }])).toEqual({ passed: 0, failed: 1 })
    expect(count([{ name: 'e2e', status: 1, report: join(tempDir(), 'missing.json') }])).toEqual({ passed: 0, failed: 1 })
    expect(count([{ name: 'lint', status: 1 }, { name: 'typecheck', status: 0 }])).toEqual({ passed: 0, failed: 1 })
  })
})
