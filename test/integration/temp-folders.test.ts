import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { launchChildEngine } from '../../src/main/host/child-launcher'
import type { EngineClient } from '../../src/main/host/engine-client'
import type { ApiEvent } from '../../src/shared/events'
import { demoClasses, ROOT } from '../helpers'

/**
 * Safety round 2, item 10: what the engine creates in the temp folder (an adapted model and its
 * predictions when no folder was chosen, an audit's report) is removed when it stops normally, and
 * what a killed engine left behind is swept when the next one starts.
 */
const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const DEMO_IMAGES = join(ROOT, 'resources', 'demo', 'images')


async function runJob(engine: EngineClient, method: string, args: unknown): Promise<Record<string, unknown>> {
  const events: ApiEvent[] = []
  const off = engine.onEvent((e) => events.push(e))
  try {
    const { jobId } = (await engine.call(method, args)) as { jobId: string }
    for (let i = 0; i < 1200; i++) {
      const end = events.find((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))
      if (end?.type === 'job.done') return end.result as Record<string, unknown>
      if (end) throw new Error(JSON.stringify(end))
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`${method} did not finish`)
  } finally {
    off()
  }
}

async function gone(path: string): Promise<boolean> {
  for (let i = 0; i < 200 && existsSync(path); i++) await new Promise((r) => setTimeout(r, 50))
  return !existsSync(path)
}

describe('temporary folders', () => {
  it('an adapted model and an audit written to the temp folder are removed when the engine stops', async () => {
    const engine = launchChildEngine()
    await engine.ready
    const pid = engine.pid!
    let adaptedDir: string
    let auditDir: string
    try {
      const support = demoClasses()
      const adapted = await runJob(engine, 'fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: support, queryDir: support })
      adaptedDir = dirname(adapted.adaptedModel as string)
      expect(basename(adaptedDir)).toMatch(new RegExp(`^metascope-adapted-${pid}-`))
      expect(dirname(adaptedDir)).toBe(tmpdir())
      expect(existsSync(adapted.adaptedModel as string)).toBe(true)
      const audit = await runJob(engine, 'audit.run', { modelPath: DEMO_MODEL, imagesDir: DEMO_IMAGES, settings: { methods: ['gradcam'], metrics: ['confidence'], steps: 2, worst: 1 } })
      auditDir = dirname(audit.report as string)
      expect(basename(auditDir)).toMatch(new RegExp(`^metascope-audit-${pid}-`))
      expect(existsSync(audit.report as string)).toBe(true)
    } finally {
      engine.close()
    }
    expect(await gone(adaptedDir)).toBe(true)
    expect(await gone(auditDir)).toBe(true)
  }, 120_000)

  it("a killed engine's adapted models are swept when the next engine starts", async () => {
    const engine = launchChildEngine()
    try {
      await engine.ready
      const first = engine.pid!
      const support = demoClasses()
      const adapted = await runJob(engine, 'fewshot.adapt', { modelPath: DEMO_MODEL, supportDir: support, queryDir: support })
      const dir = dirname(adapted.adaptedModel as string)
      process.kill(first, 'SIGKILL')
      for (let i = 0; i < 200 && (!engine.pid || engine.pid === first); i++) await new Promise((r) => setTimeout(r, 50))
      await engine.ready
      expect(await gone(dir)).toBe(true)
    } finally {
      engine.close()
    }
  }, 120_000)
})
