// Counts for `npm test`'s closing line "tests: N passed, N failed". A step that failed without any
// failed test in its report (a suite that could not start: Chromium missing, a syntax error, a
// crashed worker; or a typecheck, lint or build step) still counts as failed, so the line never says
// "0 failed" for a run that failed.
import { existsSync, readFileSync } from 'node:fs'

/**
 * steps: [{ name, status, report? }] where report is the path of a vitest JSON report (or undefined
 * for steps that run no tests). Returns { passed, failed }.
 */
export function countResults(steps) {
  let passed = 0
  let failed = 0
  for (const step of steps) {
    const report = step.report && existsSync(step.report) ? JSON.parse(readFileSync(step.report, 'utf8')) : null
    if (report) {
      passed += report.numPassedTests ?? 0
      failed += report.numFailedTests ?? 0
    }
    const reported = report ? (report.numFailedTests ?? 0) : 0
    if (step.status !== 0 && reported === 0) failed += Math.max(1, report?.numFailedTestSuites ?? 0)
  }
  return { passed, failed }
}
